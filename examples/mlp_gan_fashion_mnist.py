"""The MLP GAN of Goodfellow et al. 2014 on Fashion-MNIST, with the paper's MNIST recipe:
1200-1200 ReLU generator with a sigmoid output, 240x5 Maxout discriminator with dropout,
SGD with momentum 0.5 at lr 0.1, batches of 100, uniform noise, pixels in [0, 1].

    python examples/mlp_gan_fashion_mnist.py [--epochs 50 | --steps N] [--data-dir DIR] [--out DIR]

Trains (or continues the run already in --out), then prints the Parzen-window log-likelihood of
the test set under 10,000 samples, next to the same estimate with 10,000 real training images in
place of the samples (the best a generator could hope for with this estimator). Ctrl-C
checkpoints; the same command continues.
"""
import argparse
import json
import sys

from minigan import metrics, progress
from minigan.cli import positive_int, run_program
from minigan.data import load_mnist
from minigan.gan import Run, TrainConfig, Trainer


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, default=50, help="passes over the 50,000 training images "
                        "(default 50, the paper's)")
    length.add_argument("--steps", type=positive_int, help="generator updates, instead of --epochs")
    p.add_argument("--data-dir", metavar="DIR", help="where the Fashion-MNIST .gz files are (or go)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/example-fashion-mnist-EPOCHS, or "
                   "-steps-N); a run already there is continued")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    args.out = args.out or f"runs/example-fashion-mnist-{f'steps-{args.steps}' if args.steps else args.epochs}"
    return args


def real_images_baseline(data_dir, n=10_000, n_validation=1_000):
    """The Parzen estimate with ``n`` training images as the "samples"."""
    train = load_mnist("fashion-mnist", "train", data_dir, "unit")[0][:n]
    validation = load_mnist("fashion-mnist", "val", data_dir, "unit")[0][:n_validation]
    test = load_mnist("fashion-mnist", "test", data_dir, "unit")[0]
    return metrics.parzen_evaluate(train, validation, test)


def main(args):
    length = {"steps": args.steps} if args.steps else {"epochs": args.epochs}
    config = TrainConfig.for_model("mlp-gan", "fashion-mnist", data_dir=args.data_dir, **length)
    Trainer.start_or_resume(config, args.out, quiet=args.quiet).fit()
    with progress.shown(not args.quiet):
        result = Run(args.out).evaluate()
        result["real_images_parzen"] = real_images_baseline(args.data_dir)
    print(json.dumps(result, indent=2))
    print(f"samples: {args.out}/samples.png")
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
