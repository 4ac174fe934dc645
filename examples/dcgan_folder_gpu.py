"""DCGAN on your own images (a folder of PNG/JPEG files, e.g. faces or bedrooms) on a GPU through CuPy.

    pip install "minigan[cuda]"
    python examples/dcgan_folder_gpu.py --data-dir ~/images/celeba --epochs 5
    python examples/dcgan_folder_gpu.py --data-dir ./few-images --device cpu --dry-run   # checks the setup

Images are read as RGB, their shorter side resized to --image-size (64, as in the paper) and centre-cropped.
The run folder gets samples every 500 steps; Ctrl-C checkpoints, and running again continues the run.
"""
import argparse
import os

from minigan.gan import Run, TrainConfig, Trainer, latent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="folder of PNG/JPEG images (subfolders included)")
    p.add_argument("--out", default="runs/dcgan-folder", help="run folder (continued if it exists)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64, help="ngf = ndf, the paper's 64 (128 for more detail)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry-run", action="store_true", help="two steps of batch 8, to check data and device")
    return p.parse_args()


def main():
    args = parse_args()
    length = dict(steps=2, epochs=None, batch_size=8) if args.dry_run else dict(epochs=args.epochs,
                                                                                batch_size=args.batch_size)
    config = TrainConfig.for_model("dcgan", "folder", data_dir=args.data_dir, device=args.device, seed=args.seed,
                                   arch=dict(image_size=args.image_size, ngf=args.width, ndf=args.width), **length)
    resume = os.path.exists(os.path.join(args.out, "checkpoint.npz"))
    trainer = Trainer(config, args.out, resume=resume)
    print(f"{'resuming' if resume else 'training'} on {args.device}: {trainer.data.steps_per_epoch} steps per epoch, "
          f"step {trainer.step} of {trainer.total_steps}")
    trainer.fit()
    run = Run(args.out, args.device)
    latent.save_rows(latent.interpolate(run, rows=6, steps=8, spherical=True), f"{args.out}/interpolation.png")
    latent.save_filters(run, f"{args.out}/filters.png")
    print(f"done: {args.out}/samples.png, interpolation.png, filters.png")


if __name__ == "__main__":
    main()
