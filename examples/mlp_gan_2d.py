"""The MLP GAN on a 2D Gaussian mixture (8 on a ring or 25 on a grid), with the remedies that
keep every mode: PacGAN pairs, an EMA of G's weights and a decaying learning rate.

    python examples/mlp_gan_2d.py [--dataset ring|grid] [--seed S] [--steps N] [--out DIR]

Trains with the dataset's recipe (or continues the run already in --out), then prints the mode
statistics of 2,500 samples; the scatter plot is DIR/samples.png. Ctrl-C checkpoints; the same
command continues.
"""
import argparse
import json
import sys

from minigan.cli import positive_int, run_program
from minigan.gan import Run, TrainConfig, Trainer


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["ring", "grid"], default="ring")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=positive_int, help="generator updates (default: the recipe's, 12,000 on the "
                   "ring, 40,000 on the grid)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/example-DATASET-SEED); a run already "
                   "there is continued")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    args.out = args.out or f"runs/example-{args.dataset}-{args.seed}"
    return args


def main(args):
    length = {"steps": args.steps} if args.steps else {}
    config = TrainConfig.for_model("mlp-gan", args.dataset, seed=args.seed, **length)
    Trainer.start_or_resume(config, args.out, quiet=args.quiet).fit()
    print(json.dumps(Run(args.out).evaluate(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
