"""The timed cases, each built once for minigan and once for torch from the same description.

minigan.nn mirrors torch.nn's names and weight layouts, so one builder serves both frameworks.
"""
import itertools

import numpy as np
import torch

import minigan
import minigan.nn.functional as F

# (in, out, size): the 64x64 DCGAN's discriminator convolutions, stride 2, kernel 4, padding 1;
# the generator's transposed convolutions are their mirror (out -> in, size/2 -> size).
DCGAN64_LAYERS = [(3, 64, 64), (64, 128, 32), (128, 256, 16), (256, 512, 8)]


def conv_cases(batch):
    cases = []
    rng = np.random.default_rng(0)
    for c_in, c_out, size in DCGAN64_LAYERS:
        x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
        w = rng.standard_normal((c_out, c_in, 4, 4), dtype=np.float32) * 0.02
        cases.append((f"conv2d {c_in}->{c_out} @{size}", *_fwd_bwd(F.conv2d, torch.nn.functional.conv2d, x, w)))
        y = rng.standard_normal((batch, c_out, size // 2, size // 2), dtype=np.float32)
        cases.append((f"conv_transpose2d {c_out}->{c_in} @{size // 2}",
                      *_fwd_bwd(F.conv_transpose2d, torch.nn.functional.conv_transpose2d, y, w)))
    return cases


def minigan_fwd_bwd(op, x, w, stride=2, padding=1, lib=minigan):
    """Forward and backward (input and weight gradients) of one minigan convolution. The upstream
    gradient is laid out in memory as the output is, as the next layer would hand it back."""
    def run():
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = op(xt, wt, stride=stride, padding=padding)
        out.backward(np.ones_like(out.data))
    return run


def _fwd_bwd(mg_op, torch_op, x, w):
    """minigan_fwd_bwd of one stride-2, padding-1 convolution, and the same in torch."""
    def run_torch():
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        out = torch_op(xt, wt, stride=2, padding=1)
        out.backward(torch.ones_like(out))
    return minigan_fwd_bwd(mg_op, x, w), run_torch


def build_dcgan(nn, size=32, nc=1, nz=100, ngf=64, ndf=64):
    """The DCGAN of torch's examples/dcgan for ``size`` x ``size`` images in ``nn`` = minigan.nn or torch.nn:
    G 1 -> 4 -> 8 -> ... -> size, D the mirror, ending in a logit (both sides train with BCE on logits)."""
    g_widths, d_widths = ([base * 2 ** i for i in range(size.bit_length() - 3)] for base in (ngf, ndf))  # 32: 1 2 4
    g = [nn.ConvTranspose2d(nz, g_widths[-1], 4, 1, 0, bias=False), nn.BatchNorm2d(g_widths[-1]), nn.ReLU()]
    for c_in, c_out in itertools.pairwise(g_widths[::-1]):
        g += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    d = [nn.Conv2d(nc, d_widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    for c_in, c_out in itertools.pairwise(d_widths):
        d += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
    return (nn.Sequential(*g, nn.ConvTranspose2d(g_widths[0], nc, 4, 2, 1, bias=False), nn.Tanh()),
            nn.Sequential(*d, nn.Conv2d(d_widths[-1], 1, 4, 1, 0, bias=False), nn.Flatten()))


def dcgan_step_case(batch, nz=100):
    rng = np.random.default_rng(0)
    real = np.tanh(rng.standard_normal((batch, 1, 32, 32), dtype=np.float32))
    noise = rng.standard_normal((batch, nz, 1, 1), dtype=np.float32)
    return (f"DCGAN 32x32 train step (batch {batch})",
            _train_step(minigan, minigan.nn, minigan.optim, F.binary_cross_entropy_with_logits, real, noise),
            _train_step(torch, torch.nn, torch.optim, torch.nn.functional.binary_cross_entropy_with_logits,
                        real, noise))


def _train_step(lib, nn, optim, bce, real, noise):
    """One D update (real and fake) and one G update (non-saturating), with Adam(2e-4, (0.5, 0.999))."""
    generator, discriminator = build_dcgan(nn, nz=noise.shape[1])
    opt_g = optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real, noise = lib.tensor(real), lib.tensor(noise)
    ones, zeros = lib.ones(len(real), 1), lib.zeros(len(real), 1)

    def step():
        fake = generator(noise)
        opt_d.zero_grad()
        loss_d = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(discriminator(fake), ones).backward()
        opt_g.step()
    return step
