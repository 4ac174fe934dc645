"""Medians of wall-clock repeats after a warm-up, and the table the benchmarks print."""
import os
import statistics
import time


def use_threads(threads):
    """Limit NumPy's BLAS and OpenMP to ``threads``: call it before anything imports NumPy, which
    loads the BLAS with the thread count it finds."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


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


def paired_ratios(run_a, run_b, seconds):
    """Ratios time(run_b) / time(run_a), calls in turn A B B A (so that a drift of the machine's speed
    weighs on both alike), for ``seconds`` after two warm-up calls of each."""
    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    for fn in (run_a, run_b, run_a, run_b):
        fn()
    ratios, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        a1, b1, b2, a2 = timed(run_a), timed(run_b), timed(run_b), timed(run_a)
        ratios.append((b1 + b2) / (a1 + a2))
    return ratios


def quartiles(values):
    """The lower quartile, the median and the upper quartile."""
    return tuple(statistics.quantiles(values, n=4)) if len(values) > 1 else (values[0],) * 3
