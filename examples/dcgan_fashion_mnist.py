"""The DCGAN of Radford et al. 2015 on Fashion-MNIST at 32x32 (28x28 images padded by 2 px), on the CPU.

    python examples/dcgan_fashion_mnist.py [steps] [width] [data_dir]

Trains G and D with ``width`` feature maps (the paper's 64 by default; 32 is four times cheaper), then
draws the latent walks and filters of section 6 and prints the run's metrics: Parzen, the classifier's
Frechet distance, classes covered, and the linear probes on D's features and on raw pixels (section 5.1).
With the README's settings (2,000 steps, width 32, batch 64) it takes about an hour on two CPU cores.
"""
import json
import sys

from minigan.gan import Run, TrainConfig, Trainer, latent


def main(steps="2000", width="64", data_dir=None):
    config = TrainConfig.for_model("dcgan", "fashion-mnist", steps=int(steps), epochs=None, batch_size=64,
                                   data_dir=data_dir, arch=dict(image_size=32, ngf=int(width), ndf=int(width)))
    folder = f"runs/example-dcgan-fashion-mnist-{steps}-{width}"
    Trainer(config, folder).fit()
    run = Run(folder)
    latent.save_rows(latent.interpolate(run, rows=8, steps=10, spherical=True), f"{folder}/interpolation.png")
    latent.save_filters(run, f"{folder}/filters.png")
    print(json.dumps(run.evaluate(), indent=2))
    print(f"pictures: {folder}/samples.png, interpolation.png, filters.png, losses.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
