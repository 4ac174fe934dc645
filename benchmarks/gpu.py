"""GPU speed, all in one run on one GPU: minigan's CUDA kernels against the device's copy bandwidth,
and a 64x64 DCGAN training step, minigan (CuPy) against torch (cuDNN).

    python benchmarks/gpu.py [--repeats R] [--batch B]

1. Copy bandwidth: a device-to-device cudaMemcpy of a 1 GiB buffer, bytes read + written over time.
2. Each kernel at the 64x64 DCGAN's shapes (batch B, ngf = ndf = 64): the bytes it must read and
   write (each input once, each output once) over its median time, as a fraction of (1). Timed with
   CUDA events around the call alone: the L2 cache is flushed (a 256 MiB read) and the GPU kept
   busy (a spin kernel) while the host queues the call, so host overhead stays out.
3. One DCGAN training step (D on real and fake, then G; Adam; BCE on logits), float32, TF32 off
   on both sides: the median wall-clock time of R synchronized steps, and the peak GPU memory.
Prints markdown tables, with the device's name, at the end.
"""
import argparse
import os
import statistics
import sys
import time

os.environ["CUPY_TF32"] = "0"  # CuPy's float32 matmul in full float32 (this is also its default)
import cupy  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minigan  # noqa: E402
import minigan.cuda  # noqa: E402
import minigan.nn.functional as F  # noqa: E402

SPIN = cupy.RawKernel(r'''extern "C" __global__ void spin(long long cycles) {
  long long start = clock64(); while (clock64() - start < cycles) {} }''', "spin")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
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


def copy_bandwidth(repeats, flush):
    """Bytes per second of a device-to-device copy, counting bytes read and written."""
    src, dst = cupy.ones(2 ** 28, np.float32), cupy.empty(2 ** 28, np.float32)
    ms = event_time(lambda: dst.data.copy_from_device_async(src.data, src.nbytes), repeats, flush)
    return 2 * src.nbytes / (ms * 1e-3)


def randn(*shape):
    return cupy.random.standard_normal(shape, dtype=np.float32)


def conv_cases(batch):
    """im2col of the discriminator's inputs; col2im of the generator's, in the strided layout
    conv_transpose2d hands it, the matrix (o kh kw) (n h w) viewed as (n, o, kh, kw, h, w)."""
    geometry = ((4, 4), (2, 2), (1, 1), (1, 1))
    for c, size in [(3, 64), (64, 32), (128, 16), (256, 8)]:
        x = randn(batch, c, size, size)
        cols_bytes = x.nbytes * 16 // 4  # kh kw / (stride h * stride w) columns per pixel
        yield f"im2col {tuple(x.shape)}", lambda x=x: minigan.cuda.im2col(x, *geometry), x.nbytes + cols_bytes
    for c, size in [(256, 4), (128, 8), (64, 16), (3, 32)]:
        cols = randn(c, 4, 4, batch, size, size).transpose(3, 0, 1, 2, 4, 5)
        shape = (batch, c, 2 * size, 2 * size)
        yield (f"col2im -> {shape}", lambda cols=cols, shape=shape: minigan.cuda.col2im(cols, shape, *geometry),
               cols.nbytes + cols.nbytes // 4)


def batch_norm_cases(batch):
    for c, size in [(512, 4), (256, 8), (128, 16), (64, 32)]:
        x, g = randn(batch, c, size, size), randn(batch, c, size, size)
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
        x, grad = randn(*shape), randn(*shape)
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
    """One Adam step of all of G's parameters (one launch each), and of its largest alone."""
    generator, _ = dcgan64(minigan.nn, nz)
    params = [randn(*p.shape) for p in generator.parameters()]
    states = [[p, randn(*p.shape), randn(*p.shape), cupy.abs(randn(*p.shape))] for p in params]

    def step(states):
        for state in states:
            minigan.cuda.adam_step(*state, 10, 2e-4, 0.5, 0.999, 1e-8, 0)
    largest = max(states, key=lambda s: s[0].size)
    for name, chosen in [(f"adam_step, G's {len(states)} parameters", states),
                         (f"adam_step {tuple(largest[0].shape)}", [largest])]:
        yield name, lambda chosen=chosen: step(chosen), 7 * sum(s[0].nbytes for s in chosen)


def kernel_table(batch, repeats):
    flush = cupy.ones(2 ** 26, np.float32)  # 256 MiB, five times the H100's L2
    copy = copy_bandwidth(repeats, flush)
    print(f"device-to-device copy: {copy / 1e9:.0f} GB/s (read + write)", flush=True)
    rows = []
    for cases in (conv_cases, batch_norm_cases, elementwise_cases, adam_cases):
        for name, fn, nbytes in cases(batch):
            ms = event_time(fn, repeats, flush)
            rows.append((name, nbytes, ms, nbytes / (ms * 1e-3)))
            print(f"{name}: {ms * 1e3:.1f} us, {rows[-1][3] / 1e9:.0f} GB/s, {rows[-1][3] / copy:.0%} of copy",
                  flush=True)
    return copy, rows


def dcgan64(nn, nz=100, ngf=64, ndf=64, nc=3):
    """The networks of torch's examples/dcgan for 64x64 images, in nn = minigan.nn or torch.nn; D ends in
    a logit (no Sigmoid): both sides train with BCE on logits. G: 1 -> 4 -> 8 -> 16 -> 32 -> 64."""
    widths = [ngf * 8, ngf * 4, ngf * 2, ngf]
    g = [nn.ConvTranspose2d(nz, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for c_in, c_out in zip(widths, widths[1:]):
        g += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    d = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    for c_in in (ndf, ndf * 2, ndf * 4):
        d += [nn.Conv2d(c_in, 2 * c_in, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c_in), nn.LeakyReLU(0.2)]
    return (nn.Sequential(*g, nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()),
            nn.Sequential(*d, nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Flatten()))


def dcgan_step(lib, nn, optim, bce, batch, nz=100):
    """A function doing one training step of a fresh 64x64 DCGAN on the GPU with library ``lib``."""
    generator, discriminator = (m.to("cuda") for m in dcgan64(nn, nz))
    opt_g, opt_d = (optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (generator, discriminator))
    rng = np.random.default_rng(0)
    real = lib.tensor(np.tanh(rng.standard_normal((batch, 3, 64, 64), dtype=np.float32)), device="cuda")
    noise = lib.tensor(rng.standard_normal((batch, nz, 1, 1), dtype=np.float32), device="cuda")
    ones, zeros = lib.ones(batch, 1, device="cuda"), lib.zeros(batch, 1, device="cuda")

    def step():
        fake = generator(noise)
        opt_d.zero_grad()
        (bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(discriminator(fake), ones).backward()
        opt_g.step()
    return step


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


def dcgan_table(batch, repeats):
    """(name, median seconds, peak allocated bytes, bytes reserved) for minigan and torch."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # as torch's DCGAN example: cuDNN picks its fastest algorithms
    rows = []
    step = dcgan_step(minigan, minigan.nn, minigan.optim, F.binary_cross_entropy_with_logits, batch)
    seconds = wall_time(step, repeats)
    with PeakMemory() as peak:
        step()
    rows.append(("minigan (CuPy + minigan kernels)", seconds, peak.peak, cupy.get_default_memory_pool().total_bytes()))
    step = dcgan_step(torch, torch.nn, torch.optim, torch.nn.functional.binary_cross_entropy_with_logits, batch)
    seconds = wall_time(step, repeats)
    torch.cuda.reset_peak_memory_stats()
    step()
    rows.append(("torch (cuDNN)", seconds, torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()))
    for name, s, allocated, reserved in rows:
        print(f"{name}: {s * 1e3:.1f} ms a step, peak {allocated / 2 ** 20:.0f} MiB allocated, "
              f"{reserved / 2 ** 20:.0f} MiB reserved", flush=True)
    return rows


def main():
    args = parse_args()
    device = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()
    copy, kernels = kernel_table(args.batch, args.repeats)
    steps = dcgan_table(args.batch, args.repeats)
    print(f"\n{device}; CuPy {cupy.__version__}, torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}); "
          f"float32, TF32 off on both sides (CUPY_TF32=0; torch allow_tf32 False for matmul and cuDNN), "
          f"cudnn.benchmark on; batch {args.batch}, medians of {args.repeats}\n")
    print(f"Copy bandwidth (device to device, read + write): {copy / 1e9:.0f} GB/s\n")
    print("| kernel | MB moved | time (us) | GB/s | of copy |")
    print("|---|---:|---:|---:|---:|")
    for name, nbytes, ms, rate in kernels:
        print(f"| {name} | {nbytes / 1e6:.1f} | {ms * 1e3:.1f} | {rate / 1e9:.0f} | {rate / copy:.0%} |")
    print("\n| DCGAN 64x64 train step | median (ms) | peak allocated (MiB) | reserved (MiB) |")
    print("|---|---:|---:|---:|")
    for name, seconds, allocated, reserved in steps:
        print(f"| {name} | {seconds * 1e3:.1f} | {allocated / 2 ** 20:.0f} | {reserved / 2 ** 20:.0f} |")
    print(f"\nminigan / torch: {steps[0][1] / steps[1][1]:.2f}x the time")


if __name__ == "__main__":
    main()
