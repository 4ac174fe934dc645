"""Medians of wall-clock repeats after a warm-up, and the table the benchmarks print."""
import statistics
import time


def median_time(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(rows):
    print("| case | minigan (ms) | torch (ms) | minigan/torch |")
    print("|---|---:|---:|---:|")
    for name, t_mg, t_torch in rows:
        print(f"| {name} | {t_mg * 1e3:.1f} | {t_torch * 1e3:.1f} | {t_mg / t_torch:.2f} |")
