"""Medians of wall-clock repeats after a warm-up, and the table the benchmarks print."""
import os
import statistics
import time


def median_time(fn, repeats, warmup_s=0.5):
    """The median wall-clock time of ``fn`` over ``repeats`` calls, after calling it for at least
    ``warmup_s`` seconds (and at least once): long enough for the threads that the library timed
    before left spinning (BLAS and OpenMP threads spin a while after each call) to go to sleep."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < warmup_s:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_average():
    """The 1-minute load average: the figures mean little when it exceeds the threads used."""
    return os.getloadavg()[0]


def print_table(rows):
    """rows: (case, [(minigan seconds, torch seconds) per round]); medians over the rounds, and the
    range of the rounds' ratios."""
    print("| case | minigan (ms) | torch (ms) | minigan/torch | rounds' range |")
    print("|---|---:|---:|---:|---:|")
    for name, rounds in rows:
        t_mg, t_torch = (statistics.median(column) for column in zip(*rounds))
        ratios = [a / b for a, b in rounds]
        print(f"| {name} | {t_mg * 1e3:.1f} | {t_torch * 1e3:.1f} | {statistics.median(ratios):.2f} | "
              f"{min(ratios):.2f}-{max(ratios):.2f} |")
