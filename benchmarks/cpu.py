"""CPU speed: minigan against torch in the same run, forward + backward.

    python benchmarks/cpu.py [--threads N] [--repeats R] [--rounds K]

Times conv2d and conv_transpose2d at the layer shapes of the 64x64 DCGAN (batch 64) and one full
DCGAN training step (D and G updates) for 32x32 single-channel images (batch 64, ngf = ndf = 64).
K rounds go through all the cases; in each, a case times minigan and torch, each the median of R
repeats after a warm-up (not interleaved call by call, since each library's BLAS or OpenMP threads
spin for a while after a call and would slow the other's), torch first in every other round. On a
shared machine the speed drifts for tens of seconds at a time: rounds over all the cases spread each
case's measurements over the whole run, so that a slow spell weighs on every case alike rather than
on the few timed during it. The table gives the medians over the rounds and the range of the
rounds' ratios, which shows by how much the speed drifted.
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
    parser.add_argument("--rounds", type=int, default=7, help="rounds through all the cases")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--only", choices=["conv", "step"], help="run one part of the table")
    return parser.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    from timing import load_average, median_time, print_table, use_threads
    use_threads(args.threads)  # before NumPy loads its BLAS
    import torch
    from cases import conv_cases, dcgan_step_case
    import minigan
    minigan.backend.keep_freed_memory()

    torch.set_num_threads(args.threads)
    load_before = load_average()
    cases = [] if args.only == "step" else conv_cases(args.batch)
    if args.only != "conv":
        cases.append(dcgan_step_case(args.batch))
    rounds = {name: [] for name, _, _ in cases}
    for k in range(args.rounds):
        for name, run_minigan, run_torch in cases:
            order = (run_torch, run_minigan) if k % 2 else (run_minigan, run_torch)
            times = {run: median_time(run, args.repeats) for run in order}
            rounds[name].append((times[run_minigan], times[run_torch]))
        print(f"round {k + 1}: " + ", ".join(f"{a * 1e3:.1f}/{b * 1e3:.1f}" for a, b in
                                              (r[-1] for r in rounds.values())) + " ms", flush=True)
    print(f"\nthreads={args.threads} batch={args.batch} rounds={args.rounds} of repeats={args.repeats} (medians), "
          f"load average {load_before:.1f} before, {load_average():.1f} after\n")
    print_table(rounds.items())


if __name__ == "__main__":
    main()
