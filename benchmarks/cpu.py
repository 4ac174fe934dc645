"""CPU speed: minigan against torch in the same run, forward + backward.

    python benchmarks/cpu.py [--threads N] [--repeats R] [--rounds K]

Times conv2d and conv_transpose2d at the layer shapes of the 64x64 DCGAN (batch 64) and one full
DCGAN training step (D and G updates) for 32x32 single-channel images (batch 64, ngf = ndf = 64).
Each case runs K rounds; a round times minigan, then torch, each the median of R repeats after a
warm-up (not interleaved call by call, since each library's BLAS or OpenMP threads spin for a while
after a call and would slow the other's). The table gives the medians over the rounds and the
range of the rounds' ratios: on a shared machine the speed drifts, and the range shows by how much.
torch gets the same thread count as NumPy's BLAS. Upstream gradients are laid out as the outputs
are (torch.ones_like, numpy.ones_like), as a next layer would hand them back. The load average is
printed before and after: on a machine busy with other work the figures say little.
"""
import argparse
import os
import sys


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per round (their median)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of minigan-then-torch per case")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--only", choices=["conv", "step"], help="run one part of the table")
    return parser.parse_args()


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy loads its BLAS
    sys.path.insert(0, os.path.dirname(__file__))
    import torch
    from cases import conv_cases, dcgan_step_case
    from timing import load_average, median_time, print_table

    torch.set_num_threads(args.threads)
    rows, load_before = [], load_average()
    cases = [] if args.only == "step" else conv_cases(args.batch)
    if args.only != "conv":
        cases.append(dcgan_step_case(args.batch))
    for name, run_minigan, run_torch in cases:
        rounds = [(median_time(run_minigan, args.repeats), median_time(run_torch, args.repeats))
                  for _ in range(args.rounds)]
        rows.append((name, rounds))
        print(name + ": " + ", ".join(f"{a * 1e3:.1f}/{b * 1e3:.1f} ms" for a, b in rounds), flush=True)
    print(f"\nthreads={args.threads} batch={args.batch} rounds={args.rounds} of repeats={args.repeats} (medians), "
          f"load average {load_before:.1f} before, {load_average():.1f} after\n")
    print_table(rows)


if __name__ == "__main__":
    main()
