"""Planar columns against channels-last ones (minigan.nn.fast.columns.planar_columns), paired in one process.

    python benchmarks/columns.py [--threads N] [--seconds S] [--sweep]

Each case runs forward + backward with the rule's layout (planar where kw C < OW) and with channels-last
columns everywhere, call by call in turn (ABBA), for S seconds; it prints the median and quartiles of the
ratios planar-rule / channels-last. By default the cases are CPU benchmark's (cpu.py) conv2d 3->64, its mirror
and the DCGAN step (S = 60); with --sweep, conv2d C->64 and conv_transpose2d 64->C (its input channels last,
as a network hands it) for C = 1, 3, 4, 8 at 64 to 8 pixels a side, kernels 4 of stride 2 and 3 of stride 1,
both layouts forced (S = 10).
"""
import argparse
import functools
import os
import sys


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seconds", type=float, help="per case (default 60, or 10 with --sweep)")
    parser.add_argument("--sweep", action="store_true", help="both layouts over channels, sizes and kernels")
    return parser.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    from timing import paired_ratios, quartiles, use_threads
    use_threads(args.threads)  # before NumPy loads its BLAS
    import minigan
    minigan.backend.keep_freed_memory()
    if args.sweep:
        rows, seconds = sweep_cases(), args.seconds or 10
    else:
        rows, seconds = benchmark_cases(args.threads), args.seconds or 60
    for name, run, planar in rows:
        ratios = paired_ratios(functools.partial(layout, run, False), functools.partial(layout, run, planar), seconds)
        low, median, high = quartiles(ratios)
        print(f"{name}: {median:.3f} (quartiles {low:.3f}-{high:.3f}, {len(ratios)} pairs)", flush=True)


def layout(run, planar):
    """run() with planar columns where ``planar`` says (True, False, or the rule itself)."""
    from unittest import mock

    from minigan.nn.fast import columns
    rule = planar if callable(planar) else (lambda shape, xp: planar)
    with mock.patch.object(columns, "planar_columns", rule):
        run()


def benchmark_cases(threads):
    import torch
    from cases import conv_cases, dcgan_step_case

    from minigan.nn.fast import columns
    torch.set_num_threads(threads)
    return [(name, run, columns.planar_columns) for name, run, _ in conv_cases(64)[:2] + [dcgan_step_case(64)]]


def sweep_cases(batch=64, channels_out=64):
    import numpy as np
    from cases import minigan_fwd_bwd

    import minigan.nn.functional as F
    rng = np.random.default_rng(0)
    rows = []
    for k, s, p in ((4, 2, 1), (3, 1, 1)):
        for size in (64, 32, 16, 8):
            for c in (1, 3, 4, 8):
                ow = (size + 2 * p - k) // s + 1
                x = rng.standard_normal((batch, c, size, size), dtype=np.float32)
                y = rng.standard_normal((batch, ow, ow, channels_out), dtype=np.float32).transpose(0, 3, 1, 2)
                w = rng.standard_normal((channels_out, c, k, k), dtype=np.float32)
                for op, image in ((F.conv2d, x), (F.conv_transpose2d, y)):
                    rows.append((f"k{k} s{s} {size}px C {c} (OW {ow}, kw C {k * c}) {op.__name__}",
                                 minigan_fwd_bwd(op, image, w, s, p), True))
    return rows


if __name__ == "__main__":
    main()
