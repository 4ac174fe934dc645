"""GPU speed, all in one run on one GPU: minigan's CUDA kernels against the device's copy bandwidth,
and training steps (the ring's MLP GAN, the DCGAN at 32x32 and 64x64), minigan (CuPy) against torch
(cuDNN), with where the 64x64 DCGAN step's time goes.

    python benchmarks/gpu.py [--repeats R] [--batch B] [--batch32 B32]

1. Ceilings: a device-to-device cudaMemcpy of a 1 GiB buffer (bytes read + written over time), and a
   float32 8192^3 matrix product through cuBLAS (TF32 off).
2. Each kernel at the 64x64 DCGAN's shapes (batch B, ngf = ndf = 64), its inputs laid out as the DCGAN
   hands them (conv outputs are channels-last memory): the bytes it must read and write (each input
   once, each output once) over its median time, as a fraction of (1), and of a copy of as many bytes
   (small launches pay a fixed cost that a copy pays too). Timed with CUDA events around the call
   alone: the L2 cache is flushed (a 256 MiB read) and the GPU kept busy (a spin kernel) while the
   host queues the call, so host overhead stays out.
3. Training steps (D on real and fake, then G; Adam; BCE on logits) on fixed batches, float32, TF32
   off on both sides: the ring recipe's MLP GAN (its networks, batch 512, PacGAN pairs, Adam, G's moving
   average; D frozen in G's update, as the trainer does), and the DCGAN with ngf = ndf = 64, 32x32 with
   one channel (Fashion-MNIST's) at batch B32 and 64x64 RGB at batch B: the median wall-clock time of R
   synchronized steps, and the peak GPU memory. Then a breakdown of the 64x64 minigan step: the host's
   time to queue it, the GPU time of each op (CUDA events around every Function's forward and backward),
   and the GPU kernels by name (torch.profiler, which sees CuPy's launches too).
Prints markdown tables, with the device's name, at the end.
"""
import argparse
import copy
import functools
import gc
import os
import statistics
import sys
import time
import traceback

os.environ["CUPY_TF32"] = "0"  # CuPy's float32 matmul in full float32 (this is also its default)
import cupy  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigan  # noqa: E402
import minigan.cuda  # noqa: E402
import minigan.nn.functional as F  # noqa: E402
from minigan.gan import TrainConfig, get_family  # noqa: E402
from minigan.tensor import Function  # noqa: E402

from cases import build_dcgan  # noqa: E402  (benchmarks/, this script's folder, is first on sys.path)

SPIN = cupy.RawKernel(r'''extern "C" __global__ void spin(long long cycles) {
  long long start = clock64(); while (clock64() - start < cycles) {} }''', "spin")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128, help="the 64x64 DCGAN's batch, and the kernels'")
    parser.add_argument("--batch32", type=int, default=64, help="the 32x32 one-channel DCGAN's batch")
    return parser.parse_args()


def event_time(fn, repeats, flush):
    """Median milliseconds of fn() on the GPU alone (see the module's docstring), after a warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        flush.sum()
        SPIN((1,), (1,), (np.int64(4_000_000),))  # about 2 ms of a busy GPU while fn() is queued
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end))
    return statistics.median(times)


def copy_time(nbytes, repeats, flush):
    """Median milliseconds of a device-to-device copy moving ``nbytes`` (half read, half written)."""
    src, dst = cupy.ones(nbytes // 8, np.float32), cupy.empty(nbytes // 8, np.float32)
    return event_time(lambda: dst.data.copy_from_device_async(src.data, src.nbytes), repeats, flush)


def matmul_rate(repeats, flush, n=8192):
    """Float32 multiply-adds per second (2 flops each) of an n x n x n product through cuBLAS."""
    a, b = randn(n, n), randn(n, n)
    return 2 * n ** 3 / (event_time(lambda: a @ b, repeats, flush) * 1e-3)


def randn(*shape):
    return cupy.random.standard_normal(shape, dtype=np.float32)


def channels_last(*shape):
    """A random (N, C, ...) array laid out in memory as minigan's conv layers lay out their outputs."""
    return randn(shape[0], *shape[2:], shape[1]).transpose(0, len(shape) - 1, *range(1, len(shape) - 1))


def conv_cases(batch):
    """im2col of the discriminator's inputs (the images, then conv outputs); col2im of the generator's, in
    the layout conv_transpose2d hands it: the matrix (n h w) (kh kw o) viewed as (n, o, kh, kw, h, w)."""
    geometry = ((4, 4), (2, 2), (1, 1), (1, 1))
    for c, size in [(3, 64), (64, 32), (128, 16), (256, 8)]:
        x = randn(batch, c, size, size) if c == 3 else channels_last(batch, c, size, size)
        cols_bytes = x.nbytes * 16 // 4  # kh kw / (stride h * stride w) columns per pixel
        yield f"im2col {tuple(x.shape)}", lambda x=x: minigan.cuda.im2col(x, *geometry), x.nbytes + cols_bytes
    for c, size in [(256, 4), (128, 8), (64, 16), (3, 32)]:
        cols = randn(batch, size, size, 4, 4, c).transpose(0, 5, 3, 4, 1, 2)
        shape = (batch, c, 2 * size, 2 * size)
        yield (f"col2im -> {shape}", lambda cols=cols, shape=shape: minigan.cuda.col2im(cols, shape, *geometry),
               cols.nbytes + cols.nbytes // 4)


def batch_norm_cases(batch):
    for c, size in [(512, 4), (256, 8), (128, 16), (64, 32)]:
        x, g = channels_last(batch, c, size, size), channels_last(batch, c, size, size)
        w, b = cupy.ones(c, np.float32), cupy.zeros(c, np.float32)
        _, mean, var = minigan.cuda.batch_norm_forward(x, w, b, 1e-5)
        yield f"batch_norm_forward {tuple(x.shape)}", lambda x=x, w=w, b=b: minigan.cuda.batch_norm_forward(
            x, w, b, 1e-5), 2 * x.nbytes
        yield (f"batch_norm_backward {tuple(x.shape)}",
               lambda g=g, x=x, m=mean, v=var, w=w: minigan.cuda.batch_norm_backward(g, x, m, v, w, 1e-5), 3 * x.nbytes)


def elementwise_cases(batch):
    """Activations where the DCGAN has them (G's last ReLU, D's first LeakyReLU, G's Tanh); sigmoid and
    BCE at the same size, though the DCGAN's logits are only B values."""
    for name, shape, params in [("relu", (batch, 64, 32, 32), ()), ("leaky_relu", (batch, 64, 32, 32), (0.2,)),
                                ("tanh", (batch, 3, 64, 64), ()), ("sigmoid", (batch, 64, 32, 32), ())]:
        x, grad = channels_last(*shape), channels_last(*shape)
        forward, backward = getattr(minigan.cuda, f"{name}_forward"), getattr(minigan.cuda, f"{name}_backward")
        yield f"{name}_forward {shape}", lambda f=forward, x=x, p=params: f(x, *p), 2 * x.nbytes
        yield f"{name}_backward {shape}", lambda f=backward, x=x, g=grad, p=params: f(x, g, *p), 3 * x.nbytes
    logits, grad = randn(batch, 64, 32, 32), randn(batch, 64, 32, 32)
    target = cupy.random.random(logits.shape, dtype=np.float32)
    yield (f"bce_with_logits_forward {tuple(logits.shape)}",
           lambda: minigan.cuda.bce_with_logits_forward(logits, target), 3 * logits.nbytes)
    yield (f"bce_with_logits_backward {tuple(logits.shape)}",
           lambda: minigan.cuda.bce_with_logits_backward(logits, target, grad), 4 * logits.nbytes)


def adam_cases(batch, nz=100):
    """One Adam step of all of G's parameters: one launch for all (adam_step_group, what minigan.optim.Adam
    runs), one launch each; and of G's largest parameter alone."""
    generator, _ = build_dcgan(minigan.nn, 64, 3, nz)
    params = [randn(*p.shape) for p in generator.parameters()]
    states = [[p, randn(*p.shape), randn(*p.shape), cupy.abs(randn(*p.shape))] for p in params]
    hyper = (10, 2e-4, 0.5, 0.999, 1e-8, 0)

    def one_each(states):
        for state in states:
            minigan.cuda.adam_step(*state, *hyper)
    largest = max(states, key=lambda s: s[0].size)
    nbytes = 7 * sum(s[0].nbytes for s in states)
    yield (f"adam_step_group, G's {len(states)} parameters", lambda: minigan.cuda.adam_step_group(
        *map(list, zip(*states)), *hyper), nbytes)
    yield f"adam_step, G's {len(states)} parameters one at a time", lambda: one_each(states), nbytes
    yield f"adam_step {tuple(largest[0].shape)}", lambda: one_each([largest]), 7 * largest[0].nbytes


def kernel_table(batch, repeats):
    flush = cupy.ones(2 ** 26, np.float32)  # 256 MiB, five times the H100's L2
    copy = 2 ** 31 / (copy_time(2 ** 31, repeats, flush) * 1e-3)
    flops = matmul_rate(repeats, flush)
    print(f"device-to-device copy: {copy / 1e9:.0f} GB/s (read + write); float32 matmul {flops / 1e12:.1f} TFLOP/s",
          flush=True)
    rows = []
    for cases in (conv_cases, batch_norm_cases, elementwise_cases, adam_cases):
        for name, fn, nbytes in cases(batch):
            ms, same_size_copy = event_time(fn, repeats, flush), copy_time(nbytes, repeats, flush)
            rows.append((name, nbytes, ms, nbytes / (ms * 1e-3), same_size_copy / ms))
            print(f"{name}: {ms * 1e3:.1f} us, {rows[-1][3] / 1e9:.0f} GB/s, {rows[-1][3] / copy:.0%} of copy, "
                  f"{rows[-1][4]:.0%} of a same-size copy", flush=True)
    return copy, flops, rows


def dcgan_step(lib, nn, optim, bce, batch, size, channels, nz=100, device="cuda"):
    """A function doing one training step of a fresh ``size`` x ``size`` DCGAN on ``device`` with library ``lib``."""
    generator, discriminator = (m.to(device) for m in build_dcgan(nn, size, channels, nz))
    opt_g, opt_d = (optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (generator, discriminator))
    rng = np.random.default_rng(0)
    real = lib.tensor(np.tanh(rng.standard_normal((batch, channels, size, size), dtype=np.float32)), device=device)
    noise = lib.tensor(rng.standard_normal((batch, nz, 1, 1), dtype=np.float32), device=device)
    ones, zeros = lib.ones(batch, 1, device=device), lib.zeros(batch, 1, device=device)

    def step():
        fake = generator(noise)
        opt_d.zero_grad()
        (bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(discriminator(fake), ones).backward()
        opt_g.step()
    return step


def ring_step(lib, nn, optim, bce, device="cuda"):
    """A function doing one step of the ring recipe's MLP GAN on fixed batches with library ``lib``: the trainer's
    step (D on real and fake, D frozen in G's update, G's moving average) without its random draws and loss checks."""
    config = TrainConfig.for_model("mlp-gan", "ring")
    networks = ring_networks(config) if lib is torch else get_family("mlp-gan").build(
        config, (2,), minigan.Generator(0), minigan.Generator(1))
    generator, discriminator = (m.to(device) for m in networks)
    average = copy.deepcopy(generator)
    opt_g, opt_d = (optim.Adam(m.parameters(), lr=config.lr, betas=config.betas) for m in (generator, discriminator))
    n, m = config.batch_size, config.pack
    rng = np.random.default_rng(0)
    real = lib.tensor(rng.standard_normal((n // m, 2 * m), dtype=np.float32), device=device)  # PacGAN pairs
    noise = lib.tensor(rng.standard_normal((n, config.noise_dim), dtype=np.float32), device=device)
    ones, zeros = lib.ones(n // m, 1, device=device), lib.zeros(n // m, 1, device=device)

    def step():
        with lib.no_grad():
            fake = generator(noise).reshape(n // m, 2 * m)
        opt_d.zero_grad()
        (bce(discriminator(real), ones) + bce(discriminator(fake), zeros)).backward()
        opt_d.step()
        for p in discriminator.parameters():
            p.requires_grad = False
        loss = bce(discriminator(generator(noise).reshape(n // m, 2 * m)), ones)
        for p in discriminator.parameters():
            p.requires_grad = True
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        for a, p in zip(average.parameters(), generator.parameters()):  # minigan.gan.trainer.EMA's update
            a.data *= config.ema
            a.data += (1 - config.ema) * p.data
    return step


class TorchMaxout(torch.nn.Linear):
    """minigan.nn.Maxout in torch: a Linear layer to units * pieces, then the max of each unit's pieces."""

    def __init__(self, in_features, units, pieces):
        super().__init__(in_features, units * pieces)
        self.pieces = pieces

    def forward(self, x):
        y = super().forward(x)
        return y.view(*y.shape[:-1], -1, self.pieces).amax(-1)


def ring_networks(config):
    """The MLP GAN of ``config`` for 2-D points in torch (its dropout probabilities are 0: no Dropout layers)."""
    a, g, d = config.arch, [], []
    width = config.noise_dim
    for h in a["g_hidden"]:
        g += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    generator = torch.nn.Sequential(*g, torch.nn.Linear(width, 2))
    width = 2 * config.pack
    for h in a["d_hidden"]:
        d.append(TorchMaxout(width, h, a["pieces"]))
        width = h
    return generator, torch.nn.Sequential(*d, torch.nn.Linear(width, 1))


def wall_time(step, repeats):
    """Median seconds of a synchronized step, after three warm-up steps."""
    times = []
    for _ in range(repeats + 3):
        cupy.cuda.runtime.deviceSynchronize()
        start = time.perf_counter()
        step()
        cupy.cuda.runtime.deviceSynchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


class PeakMemory(cupy.cuda.MemoryHook):
    """The most bytes CuPy's pool had handed out at once inside the ``with`` block (from its state on entry)."""
    name = "minigan-benchmark-peak"

    def __enter__(self):
        self.current = self.peak = cupy.get_default_memory_pool().used_bytes()
        super().__enter__()
        return self

    def malloc_postprocess(self, **kwargs):
        self.current += kwargs["mem_size"]
        self.peak = max(self.peak, self.current)

    def free_postprocess(self, **kwargs):
        self.current -= kwargs["mem_size"]


MINIGAN = (minigan, minigan.nn, minigan.optim, F.binary_cross_entropy_with_logits)
TORCH = (torch, torch.nn, torch.optim, torch.nn.functional.binary_cross_entropy_with_logits)


def step_table(cases, repeats):
    """([(label, [(library, median seconds, peak allocated bytes, bytes reserved) for minigan and torch])] for each
    (label, make_step) of ``cases``, and the last one's two steps). Each case starts with the memory of the one
    before handed back, so that its peaks are its own; one that fails is left out, with its traceback."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # as torch's DCGAN example: cuDNN picks its fastest algorithms
    tables, steps = [], None
    for label, make_step in cases:
        steps = None
        gc.collect()
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
        try:
            rows, steps = step_rows(label, make_step, repeats)
        except Exception:  # one case's failure must not lose the others
            traceback.print_exc()
            continue
        tables.append((label, rows))
    return tables, steps


def step_rows(label, make_step, repeats):
    """[(library, median seconds, peak allocated bytes, bytes reserved)] of ``make_step(*MINIGAN)`` and
    ``make_step(*TORCH)``, and the two steps."""
    rows, steps = [], []
    step = make_step(*MINIGAN)
    seconds = wall_time(step, repeats)
    with PeakMemory() as peak:
        step()
    rows.append(("minigan (CuPy + minigan kernels)", seconds, peak.peak, cupy.get_default_memory_pool().total_bytes()))
    steps.append(step)
    step = make_step(*TORCH)
    seconds = wall_time(step, repeats)
    torch.cuda.reset_peak_memory_stats()
    step()
    rows.append(("torch (cuDNN)", seconds, torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()))
    steps.append(step)
    for name, s, allocated, reserved in rows:
        print(f"{label}, {name}: {s * 1e3:.2f} ms a step, peak {allocated / 2 ** 20:.0f} MiB allocated, "
              f"{reserved / 2 ** 20:.0f} MiB reserved", flush=True)
    return rows, steps


def queue_time(step, repeats):
    """Median seconds the host takes to queue a step (from an idle GPU, without waiting for it)."""
    times = []
    for _ in range(repeats):
        cupy.cuda.runtime.deviceSynchronize()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    cupy.cuda.runtime.deviceSynchronize()
    return statistics.median(times)


def functions(cls=Function):
    """Every subclass of minigan's Function."""
    for sub in cls.__subclasses__():
        yield sub
        yield from functions(sub)


def op_times(step):
    """{op: GPU milliseconds in one step}: CUDA events around each Function's forward and backward and each
    optimizer step. Where the host falls behind the GPU, an op's time holds the GPU's wait for it too."""
    events = []

    def timed(label, fn):
        def run(*args, **kwargs):
            start, end = cupy.cuda.Event(), cupy.cuda.Event()
            start.record()
            out = fn(*args, **kwargs)
            end.record()
            events.append((f"{type(args[0]).__name__}.{label}", start, end))
            return out
        return run
    patched = [(cls, name, vars(cls)[name]) for cls in {*functions(), minigan.optim.Optimizer}
               for name in ("forward", "backward", "step") if name in vars(cls)]
    for cls, name, fn in patched:
        setattr(cls, name, timed(name, fn))
    try:
        step()
        cupy.cuda.runtime.deviceSynchronize()
    finally:
        for cls, name, fn in patched:
            setattr(cls, name, fn)
    totals = {}
    for label, start, end in events:
        totals[label] = totals.get(label, 0) + cupy.cuda.get_elapsed_time(start, end)
    return totals


def kernel_times(step, steps=2):
    """[(kernel name, launches a step, GPU milliseconds a step)] from torch.profiler (CUPTI sees every
    kernel of the process, CuPy's and minigan's too), most time first."""
    from torch.profiler import ProfilerActivity, profile
    step()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    rows = []
    for e in prof.key_averages():
        us = next((getattr(e, a) for a in ("device_time_total", "cuda_time_total") if hasattr(e, a)), 0)
        if us > 0:
            rows.append((e.key, e.count / steps, us / steps / 1e3))
    return sorted(rows, key=lambda r: -r[2])


def breakdown(steps, repeats, top=18):
    """Print where a minigan step's time goes (and torch's kernels, for comparison)."""
    minigan_step, torch_step = steps
    print(f"\nminigan: the host queues a step in {queue_time(minigan_step, repeats) * 1e3:.1f} ms (median)")
    ops = sorted(op_times(minigan_step).items(), key=lambda kv: -kv[1])
    print(f"minigan ops, GPU ms in one step (CUDA events; sum {sum(ms for _, ms in ops):.1f} ms):")
    print("; ".join(f"{name} {ms:.2f}" for name, ms in ops[:top]))
    for name, step in (("minigan", minigan_step), ("torch", torch_step)):
        rows = kernel_times(step)
        print(f"\n{name} GPU kernels a step: {sum(r[1] for r in rows):.0f} launches, "
              f"{sum(r[2] for r in rows):.2f} ms in all; the most time first:")
        for key, count, ms in rows[:top if name == "minigan" else top // 2]:
            print(f"  {ms:7.3f} ms {count:5.0f}x {key[:110]}")


def main():
    args = parse_args()
    device = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()
    copy, flops, kernels = kernel_table(args.batch, args.repeats)
    tables, steps = step_table([
        ("ring MLP GAN, batch 512", ring_step),
        (f"DCGAN 32x32, 1 channel, batch {args.batch32}",
         functools.partial(dcgan_step, batch=args.batch32, size=32, channels=1)),
        (f"DCGAN 64x64, RGB, batch {args.batch}", functools.partial(dcgan_step, batch=args.batch, size=64, channels=3)),
    ], args.repeats)
    try:
        breakdown(steps, args.repeats)  # the last case's: the 64x64 DCGAN
    except Exception:  # an extra: its failure must not lose the tables
        traceback.print_exc()
    print(f"\n{device}; CuPy {cupy.__version__}, torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}); "
          f"float32, TF32 off on both sides (CUPY_TF32=0; torch allow_tf32 False for matmul and cuDNN), "
          f"cudnn.benchmark on; kernels at batch {args.batch}, medians of {args.repeats}\n")
    print(f"Copy bandwidth (device to device, read + write): {copy / 1e9:.0f} GB/s; "
          f"float32 matmul (8192^3, cuBLAS, no TF32): {flops / 1e12:.1f} TFLOP/s\n")
    print("| kernel | MB moved | time (us) | GB/s | of copy | of a same-size copy |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, nbytes, ms, rate, of_same in kernels:
        print(f"| {name} | {nbytes / 1e6:.1f} | {ms * 1e3:.1f} | {rate / 1e9:.0f} | {rate / copy:.0%} "
              f"| {of_same:.0%} |")
    print("\n| train step (DCGAN: ngf = ndf = 64) | library | median (ms) | peak allocated (MiB) | reserved (MiB) |")
    print("|---|---|---:|---:|---:|")
    for label, rows in tables:
        for name, seconds, allocated, reserved in rows:
            print(f"| {label} | {name} | {seconds * 1e3:.2f} | {allocated / 2 ** 20:.0f} | {reserved / 2 ** 20:.0f} |")
    print()
    for label, rows in tables:
        print(f"{label}: minigan / torch {rows[0][1] / rows[1][1]:.2f}x the time, "
              f"{rows[0][2] / rows[1][2]:.2f}x the peak memory allocated")


if __name__ == "__main__":
    main()
