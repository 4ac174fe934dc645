"""The MLP GAN of Goodfellow et al. 2014 on Fashion-MNIST, with the paper's MNIST recipe:
1200-1200 ReLU generator with a sigmoid output, 240x5 Maxout discriminator with dropout,
SGD with momentum 0.5 at lr 0.1, batches of 100, uniform noise, pixels in [0, 1].

    python examples/mlp_gan_fashion_mnist.py [epochs] [data_dir]

Prints the Parzen-window log-likelihood of the test set under 10,000 samples, next to the
same estimate with 10,000 real training images in place of the samples (the best a
generator could hope for with this estimator).
"""
import json
import sys

from minigan import metrics
from minigan.data import load_mnist
from minigan.gan import Run, TrainConfig, Trainer


def real_images_baseline(data_dir, n=10_000, n_validation=1_000):
    """The Parzen estimate with ``n`` training images as the "samples"."""
    train = load_mnist("fashion-mnist", "train", data_dir, "unit")[0][:n]
    validation = load_mnist("fashion-mnist", "val", data_dir, "unit")[0][:n_validation]
    test = load_mnist("fashion-mnist", "test", data_dir, "unit")[0]
    return metrics.parzen_evaluate(train, validation, test)


def main(epochs="50", data_dir=None):
    config = TrainConfig.for_model("mlp-gan", "fashion-mnist", epochs=int(epochs), data_dir=data_dir)
    folder = f"runs/example-fashion-mnist-{epochs}"
    Trainer(config, folder).fit()
    result = Run(folder).evaluate()
    result["real_images_parzen"] = real_images_baseline(data_dir)
    print(json.dumps(result, indent=2, default=float))
    print(f"samples: {folder}/samples.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
