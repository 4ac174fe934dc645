"""This checkout's minigan against another revision's, paired call by call in one process.

    PYTHONPATH=. python benchmarks/against.py REV [--threads 2] [--seconds 30] [--only conv|step]

git archive copies REV's minigan/ into a temporary folder, where it imports as the package
``minigan_base`` beside this checkout's ``minigan``. Each case of cpu.py (the 64x64 DCGAN's convolutions
forward + backward, and the DCGAN-32 train step) is built once for each, and the two run in turn, A B B A
(benchmarks/timing.py's paired_ratios), for S seconds: a drift of the shared machine's speed weighs on
both alike. Prints, per case, the median and quartiles of time(this checkout) / time(REV).
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to compare with, e.g. HEAD~3 or a commit")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seconds", type=float, default=30, help="of paired calls per case")
    parser.add_argument("--only", choices=["conv", "step"], help="run one part of the cases")
    return parser.parse_args()


def import_revision(rev, folder):
    """REV's minigan package, imported as ``minigan_base`` from ``folder``."""
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True,
                          text=True, cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    archive = subprocess.run(["git", "archive", rev, "minigan"], check=True, capture_output=True, cwd=root).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    os.rename(os.path.join(folder, "minigan"), os.path.join(folder, "minigan_base"))
    sys.path.insert(0, folder)
    return importlib.import_module("minigan_base")


def cases(lib, only):
    """(name, run) of cpu.py's cases, built with ``lib`` (minigan or minigan_base)."""
    import numpy as np
    from cases import DCGAN64_LAYERS, _train_step, minigan_fwd_bwd
    rng, built = np.random.default_rng(0), []
    if only != "step":
        for c_in, c_out, size in DCGAN64_LAYERS:
            x = rng.standard_normal((64, c_in, size, size), dtype=np.float32)
            w = rng.standard_normal((c_out, c_in, 4, 4), dtype=np.float32) * 0.02
            y = rng.standard_normal((64, c_out, size // 2, size // 2), dtype=np.float32)
            built += [(f"conv2d {c_in}->{c_out} @{size}", minigan_fwd_bwd(lib.nn.functional.conv2d, x, w, lib=lib)),
                      (f"conv_transpose2d {c_out}->{c_in} @{size // 2}",
                       minigan_fwd_bwd(lib.nn.functional.conv_transpose2d, y, w, lib=lib))]
    if only != "conv":
        real = np.tanh(rng.standard_normal((64, 1, 32, 32), dtype=np.float32))
        noise = rng.standard_normal((64, 100, 1, 1), dtype=np.float32)
        built.append(("DCGAN 32x32 train step (batch 64)", _train_step(
            lib, lib.nn, lib.optim, lib.nn.functional.binary_cross_entropy_with_logits, real, noise)))
    return built


def main():
    args = parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from timing import load_average, paired_ratios, quartiles, use_threads
    use_threads(args.threads)  # before NumPy loads its BLAS
    import minigan
    with tempfile.TemporaryDirectory() as folder:
        base = import_revision(args.rev, folder)
        minigan.backend.keep_freed_memory()
        print(f"time(this checkout) / time({args.rev}), ABBA pairs for {args.seconds:g} s a case, "
              f"threads={args.threads}, load average {load_average():.1f}", flush=True)
        for (name, run_new), (_, run_base) in zip(cases(minigan, args.only), cases(base, args.only)):
            low, median, high = quartiles(paired_ratios(run_base, run_new, args.seconds))
            print(f"{name}: {median:.3f} (quartiles {low:.3f}-{high:.3f})", flush=True)
        print(f"load average {load_average():.1f} after")


if __name__ == "__main__":
    main()
