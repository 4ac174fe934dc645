"""The DCGAN of Radford et al. 2015 on Fashion-MNIST at 32x32 (28x28 images padded by 2 px), on the CPU.

    python examples/dcgan_fashion_mnist.py [--steps 2000] [--width 64] [--data-dir DIR] [--out DIR]

Trains G and D with --width feature maps (the paper's 64; 32 is four times cheaper), or continues
the run already in --out, then draws the latent walks and filters of section 6 into the run folder
and prints the run's metrics: Parzen, the classifier's Frechet distance, classes covered, and the
linear probes on D's features and on raw pixels (section 5.1). With the README's settings (2,000
steps, width 32, batch 64) it takes about an hour on two CPU cores. Ctrl-C checkpoints; the same
command continues.
"""
import argparse
import json
import os
import sys

from minigan import progress
from minigan.cli import positive_int, run_program
from minigan.gan import Run, TrainConfig, Trainer, latent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=positive_int, default=2000, help="generator updates (default 2000)")
    p.add_argument("--width", type=positive_int, default=64, help="ngf = ndf (default 64, the paper's)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="default 64")
    p.add_argument("--image-size", type=int, default=32, help="32 (padded) or 64 (resized); default 32")
    p.add_argument("--data-dir", metavar="DIR", help="where the Fashion-MNIST .gz files are (or go)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/example-dcgan-fashion-mnist-STEPS-WIDTH);"
                   " a run already there is continued")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    args.out = args.out or f"runs/example-dcgan-fashion-mnist-{args.steps}-{args.width}"
    return args


def main(args):
    config = TrainConfig.for_model("dcgan", "fashion-mnist", steps=args.steps, batch_size=args.batch_size,
                                   data_dir=args.data_dir,
                                   arch=dict(image_size=args.image_size, ngf=args.width, ndf=args.width))
    Trainer.start_or_resume(config, args.out, quiet=args.quiet).fit()
    run = Run(args.out)
    latent.save_rows(latent.interpolate(run, rows=8, steps=10, spherical=True),
                     os.path.join(args.out, "interpolation.png"))
    latent.save_filters(run, os.path.join(args.out, "filters.png"))
    with progress.shown(not args.quiet):
        print(json.dumps(run.evaluate(), indent=2))
    print(f"pictures: {args.out}/samples.png, interpolation.png, filters.png, losses.png")
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
