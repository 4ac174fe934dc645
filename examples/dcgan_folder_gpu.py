"""DCGAN on your own images (a folder of PNG/JPEG files, e.g. faces or bedrooms) on a GPU through CuPy.

    pip install "minigan[cuda]"
    python examples/dcgan_folder_gpu.py --data-dir ~/images/celeba --epochs 5
    python examples/dcgan_folder_gpu.py --data-dir ./few-images --device cpu --steps 2 --batch-size 8 \\
        --out /tmp/check                                           # checks data and setup in seconds

Images are read as RGB, their shorter side resized to --image-size (64, as in the paper) and
centre-cropped. The run folder gets samples every 500 steps, and at the end latent walks and
filters; Ctrl-C checkpoints, and the same command continues the run.
"""
import argparse
import os
import sys

from minigan.cli import positive_int, run_program
from minigan.gan import Run, TrainConfig, Trainer, latent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="folder of PNG/JPEG images (subfolders included)")
    p.add_argument("--out", default="runs/dcgan-folder", help="run folder (default runs/dcgan-folder); a run "
                   "already there is continued")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=positive_int, default=64, help="ngf = ndf, the paper's 64 (128 for more detail)")
    p.add_argument("--batch-size", type=positive_int, default=128)
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, default=5, help="passes over the images (default 5)")
    length.add_argument("--steps", type=positive_int, help="generator updates, instead of --epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(args):
    length = {"steps": args.steps} if args.steps else {"epochs": args.epochs}
    config = TrainConfig.for_model("dcgan", "folder", data_dir=args.data_dir, device=args.device, seed=args.seed,
                                   batch_size=args.batch_size, **length,
                                   arch=dict(image_size=args.image_size, ngf=args.width, ndf=args.width))
    trainer = Trainer.start_or_resume(config, args.out, quiet=args.quiet)
    print(f"{'resuming' if trainer.step else 'training'} on {args.device}: {trainer.data.steps_per_epoch} steps "
          f"per epoch, step {trainer.step} of {trainer.total_steps}", file=sys.stderr)
    trainer.fit()
    run = Run(args.out, args.device)
    latent.save_rows(latent.interpolate(run, rows=6, steps=8, spherical=True),
                     os.path.join(args.out, "interpolation.png"))
    latent.save_filters(run, os.path.join(args.out, "filters.png"))
    print(f"done: {args.out}/samples.png, interpolation.png, filters.png")
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
