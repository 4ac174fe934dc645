"""Medians of wall-clock repeats after a warm-up, and the table the benchmarks print."""
import os
import statistics
import time


def median_times(fns, repeats, warmup=1):
    """The median wall-clock time of each of ``fns``, each timed in its own block after its own warm-up.

    Blocks, not interleaved repeats: on 2 cores one library's idle thread pool (OpenMP's and OpenBLAS's
    workers spin for a while after each call) would otherwise steal the cores from the other's next call."""
    return [_median_time(fn, repeats, warmup) for fn in fns]


def _median_time(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def load_average():
    """The 1-minute load average (the figures mean little when it exceeds the threads used)."""
    return os.getloadavg()[0]


def print_table(rows):
    print("| case | minigan (ms) | torch (ms) | minigan/torch |")
    print("|---|---:|---:|---:|")
    for name, t_mg, t_torch in rows:
        print(f"| {name} | {t_mg * 1e3:.1f} | {t_torch * 1e3:.1f} | {t_mg / t_torch:.2f} |")
