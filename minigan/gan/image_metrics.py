"""What ``minigan evaluate`` adds for a DCGAN run on a labelled image dataset.

- ``sample_metrics``: a small classifier trained on the dataset's labels (classifier.py) looks at 10,000
  generated and 10,000 test images: the Frechet distance between Gaussians fitted to its 128 penultimate
  features (FID's formula on another network: comparable between runs on the same dataset and image size
  only, never to published FIDs), the classes that get >= 2% of the samples, and its mean top probability.
- ``linear_probe``: Radford et al. 2015, section 5.1: D as a feature extractor. Each of D's hidden layers is
  max-pooled to a 4x4 grid, the grids are concatenated, and a logistic regression (a Linear layer trained
  with Adam on the cross-entropy) learns the training labels from them; its test accuracy is reported next
  to the same probe on raw pixels.
"""
import numpy as np

from .. import metrics, nn
from ..ops import concatenate
from ..random import Generator
from . import classifier
from .dcgan import load_discriminator

GRID = 4  # each layer's features are max-pooled to GRID x GRID


def sample_metrics(model, samples, test_images, device="cpu"):
    """{"frechet_distance", "classes_covered", "mean_confidence"} of ``samples`` against ``test_images``
    (both (N, C, S, S) in [-1, 1]) under the classifier ``model``."""
    generated, real = (classifier.predict(model.features, x, device=device, desc=f"classifier features: {name}")
                       for x, name in ((samples, "samples"), (test_images, "test images")))
    probabilities = classifier.predict(lambda f: nn.functional.softmax(model.head(f), axis=1), generated,
                                       device=device, desc="classifier on samples")
    coverage = metrics.class_coverage(probabilities)
    distance = metrics.frechet_distance(*metrics.feature_stats(generated), *metrics.feature_stats(real))
    return {"frechet_distance": distance, "classes_covered": coverage["classes"],
            "mean_confidence": coverage["confidence"]}


def discriminator_features(D, x):
    """The outputs of D's LeakyReLU layers for images ``x``, each max-pooled to GRID x GRID, flattened and
    concatenated: (N, sum of the layers' channels x GRID^2)."""
    pooled = []
    for layer in D:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            pooled.append(nn.functional.max_pool2d(x, x.shape[-1] // GRID).flatten(1))
    return concatenate(pooled, axis=1)


def linear_probe(train, test, epochs=10, seed=0, desc="linear probe"):
    """Test accuracy of a logistic regression fitted on ``train`` = (features (N, d), labels (N,)) and scored on
    ``test``; each feature is standardised with the training set's mean and std first."""
    (x, y), (x_test, y_test) = train, test
    mean, std = x.mean(0), x.std(0) + 1e-6
    model = nn.Linear(x.shape[1], int(y.max()) + 1, generator=Generator(seed))
    for p in model.parameters():  # from zero, as logistic regression starts: no random features to unlearn
        nn.init.zeros_(p)
    classifier.fit(model, (x - mean) / std, y, epochs, batch_size=256, seed=seed, desc=desc)
    return classifier.accuracy(classifier.predict(model, (x_test - mean) / std), y_test)


def probe_metrics(D, train, test, epochs=10, device="cpu"):
    """{"probe_d_accuracy", "probe_pixels_accuracy"}: the linear probe on D's features and on raw pixels
    of ``train`` and ``test`` = (images, labels)."""
    D.eval()
    d_features, pixels = {}, {}
    for split, (images, labels) in (("train", train), ("test", test)):
        d_features[split] = classifier.predict(lambda x: discriminator_features(D, x), images, 250, device,
                                               f"D's features: {split} images"), labels
        pixels[split] = images.reshape(len(images), -1), labels
    return {"probe_d_accuracy": linear_probe(d_features["train"], d_features["test"], epochs,
                                             desc="linear probe on D's features"),
            "probe_pixels_accuracy": linear_probe(pixels["train"], pixels["test"], epochs,
                                                  desc="linear probe on pixels")}


def evaluate(run, seed=0, n=10_000, cache_dir=None):
    """The image metrics of ``run`` (a minigan.gan.Run on a labelled dataset); {} for unlabelled data."""
    if not hasattr(run.dataset, "labelled"):
        return {}
    device = run.config.device
    train, test = (run.dataset.labelled(split, run.config, "tanh") for split in ("train", "test"))
    model, accuracy = classifier.load_or_train(run.config.dataset, train, test, cache_dir=cache_dir)
    test = test[0][:n], test[1][:n]
    result = {"classifier_test_accuracy": accuracy, **sample_metrics(model.to(device), run.sample(n, seed), test[0],
                                                                     device)}
    if run.config.pack == 1:  # a PacGAN D reads several images at once: no features of one image to probe
        result.update(probe_metrics(load_discriminator(run).to(device), train, test, device=device))
    return result
