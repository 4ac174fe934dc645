"""Medians of wall-clock repeats after a warm-up, and the table the benchmarks print."""
import os
import statistics
import time


def median_times(fns, repeats, warmup=1):
    """The median wall-clock time of each of ``fns``, their repeats interleaved (a, b, a, b, ...)
    so that a change in the machine's load falls on all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, samples in zip(fns, times):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def load_average():
    """The 1-minute load average (the figures mean little when it exceeds the threads used)."""
    return os.getloadavg()[0]


def print_table(rows):
    print("| case | minigan (ms) | torch (ms) | minigan/torch |")
    print("|---|---:|---:|---:|")
    for name, t_mg, t_torch in rows:
        print(f"| {name} | {t_mg * 1e3:.1f} | {t_torch * 1e3:.1f} | {t_mg / t_torch:.2f} |")
