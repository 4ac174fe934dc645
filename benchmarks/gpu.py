"""GPU speed, all in one run on one GPU: minigan's CUDA kernels against the device's copy bandwidth,
and DCGAN training steps, minigan (CuPy) against torch (cuDNN), with where the 64x64 step's time goes.

    python benchmarks/gpu.py [--repeats R] [--batch B] [--batch32 B32]

1. Ceilings: a device-to-device cudaMemcpy of a 1 GiB buffer (bytes read + written over time), and a
   float32 8192^3 matrix product through cuBLAS (TF32 off).
2. Each kernel at the 64x64 DCGAN's shapes (batch B, ngf = ndf = 64), its inputs laid out as the DCGAN
   hands them (conv outputs are channels-last memory): the bytes it must read and write (each input
   once, each output once) over its median time, as a fraction of (1), and of a copy of as many bytes
   (small launches pay a fixed cost that a copy pays too). Timed with CUDA events around the call
   alone: the L2 cache is flushed (a 256 MiB read) and the GPU kept busy (a spin kernel) while the
   host queues the call, so host overhead stays out.
3. One DCGAN training step (D on real and fake, then G; Adam; BCE on logits), float32, TF32 off
   on both sides, ngf = ndf = 64: 32x32 with one channel (Fashion-MNIST's DCGAN) at batch B32, and
   64x64 RGB at batch B: the median wall-clock time of R synchronized steps, and the peak GPU memory.
   Then a breakdown of the 64x64 minigan step: the host's time to queue it, the GPU time of each op
   (CUDA events around every Function's forward and backward), and the GPU kernels by name
   (torch.profiler, which sees CuPy's launches too).
Prints markdown tables, with the device's name, at the end.
"""
import argparse
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


def dcgan_table(configs, repeats):
    """([(label, [(library, median seconds, peak allocated bytes, bytes reserved) for minigan and torch])] for each
    (label, size, channels, batch) of ``configs``, and the last one's two steps). Each configuration starts with
    the memory of the one before handed back, so that its peaks are its own."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # as torch's DCGAN example: cuDNN picks its fastest algorithms
    tables, steps = [], None
    for label, size, channels, batch in configs:
        steps = None
        gc.collect()
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
        rows, steps = dcgan_rows(label, size, channels, batch, repeats)
        tables.append((label, rows))
    return tables, steps


def dcgan_rows(label, size, channels, batch, repeats):
    """[(library, median seconds, peak allocated bytes, bytes reserved)] of one DCGAN's step in minigan and torch,
    and the two steps."""
    rows, steps = [], []
    step = dcgan_step(minigan, minigan.nn, minigan.optim, F.binary_cross_entropy_with_logits, batch, size, channels)
    seconds = wall_time(step, repeats)
    with PeakMemory() as peak:
        step()
    rows.append(("minigan (CuPy + minigan kernels)", seconds, peak.peak, cupy.get_default_memory_pool().total_bytes()))
    steps.append(step)
    step = dcgan_step(torch, torch.nn, torch.optim, torch.nn.functional.binary_cross_entropy_with_logits, batch,
                      size, channels)
    seconds = wall_time(step, repeats)
    torch.cuda.reset_peak_memory_stats()
    step()
    rows.append(("torch (cuDNN)", seconds, torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()))
    steps.append(step)
    for name, s, allocated, reserved in rows:
        print(f"{label}, {name}: {s * 1e3:.1f} ms a step, peak {allocated / 2 ** 20:.0f} MiB allocated, "
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
    tables, steps = dcgan_table([(f"DCGAN 32x32, 1 channel, batch {args.batch32}", 32, 1, args.batch32),
                                 (f"DCGAN 64x64, RGB, batch {args.batch}", 64, 3, args.batch)], args.repeats)
    try:
        breakdown(steps, args.repeats)  # the 64x64 step's
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
    print("\n| DCGAN train step, ngf = ndf = 64 | library | median (ms) | peak allocated (MiB) | reserved (MiB) |")
    print("|---|---|---:|---:|---:|")
    for label, rows in tables:
        for name, seconds, allocated, reserved in rows:
            print(f"| {label} | {name} | {seconds * 1e3:.1f} | {allocated / 2 ** 20:.0f} | {reserved / 2 ** 20:.0f} |")
    print()
    for label, rows in tables:
        print(f"{label}: minigan / torch {rows[0][1] / rows[1][1]:.2f}x the time, "
              f"{rows[0][2] / rows[1][2]:.2f}x the peak memory allocated")


if __name__ == "__main__":
    main()
