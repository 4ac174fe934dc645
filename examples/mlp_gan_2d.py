"""The MLP GAN on a 2D Gaussian mixture (8 on a ring or 25 on a grid), with the remedies that
keep every mode: PacGAN pairs, an EMA of G's weights and a decaying learning rate.

    python examples/mlp_gan_2d.py [ring|grid] [seed]

Trains with the dataset's default recipe, then prints the mode statistics of 2,500 samples
and leaves the scatter plot in runs/example-<dataset>-<seed>/samples.png.
"""
import json
import sys

from minigan.gan import Run, TrainConfig, Trainer


def main(dataset="ring", seed="0"):
    config = TrainConfig.for_model("mlp-gan", dataset, seed=int(seed))
    folder = f"runs/example-{dataset}-{seed}"
    Trainer(config, folder).fit()
    print(json.dumps(Run(folder).evaluate(), indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
