"""A small convolutional classifier, trained with minigan itself, whose features score generated images.

(N, C, S, S) -> Conv2d(C, 16, 4, 2, 1) + ReLU -> Conv2d(16, 32, 4, 2, 1) + ReLU -> Linear(32 (S/4)^2, 128) + ReLU
-> Linear(128, classes). The 128 penultimate features give the Frechet distance between generated and test
images; the softmax gives class coverage and confidence. One epoch over 50,000 Fashion-MNIST images at 32x32
takes about a minute on two CPU cores; the trained weights are cached per dataset and image size.

``fit`` and ``predict`` also serve the linear probes of image_metrics.
"""
import os

import numpy as np

from .. import nn, optim, progress, serialize
from ..data import DataLoader
from ..random import Generator
from ..tensor import Tensor, no_grad

FEATURES = 128
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "minigan", "classifiers")


class Classifier(nn.Module):
    """Images (N, channels, size, size) in [-1, 1] -> logits (N, classes); ``features`` gives the 128 before."""

    def __init__(self, channels, size, classes=10, generator=None):
        super().__init__()
        if size % 4:
            raise ValueError(f"Classifier: the image side must be a multiple of 4, got {size}")
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 4, 2, 1, generator=generator), nn.ReLU(),      # S -> S/2
            nn.Conv2d(16, 32, 4, 2, 1, generator=generator), nn.ReLU(),            # S/2 -> S/4
            nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, FEATURES, generator=generator), nn.ReLU())
        self.head = nn.Linear(FEATURES, classes, generator=generator)

    def forward(self, x):
        return self.head(self.features(x))


def fit(model, inputs, labels, epochs=1, batch_size=128, lr=1e-3, seed=0, desc="training"):
    """Minimise the cross-entropy of ``model`` on ``inputs`` (N, ...) and int ``labels`` (N,) with Adam
    (a progress bar named ``desc``)."""
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader((inputs, labels), min(batch_size, len(inputs)), generator=Generator(seed),
                        device=model_device(model))
    model.train()
    batches = (batch for _ in range(epochs) for batch in loader)
    for x, y in progress.bar(batches, desc, total=epochs * len(loader)):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def predict(fn, inputs, batch_size=500, device="cpu", desc="predicting"):
    """``fn`` (Tensor -> Tensor) over ``inputs`` in batches, without a graph, as one NumPy array."""
    with no_grad():
        return np.concatenate([fn(Tensor(inputs[i:i + batch_size]).to(device)).numpy()
                               for i in progress.bar(range(0, len(inputs), batch_size), desc)])


def accuracy(logits, labels):
    """The fraction of rows of ``logits`` (N, classes) whose argmax is the label."""
    return float((np.asarray(logits).argmax(1) == np.asarray(labels)).mean())


def model_device(model):
    return next(model.parameters()).device


def load_or_train(name, train, test, epochs=1, seed=0, cache_dir=None):
    """(classifier, test accuracy) for dataset ``name``: read from ``cache_dir``/<name>-<size>.npz, or trained
    on ``train`` = (images, labels), scored on ``test`` and saved there. Images (N, C, S, S) in [-1, 1]."""
    (images, labels), (_, channels, size, _) = train, train[0].shape
    model = Classifier(channels, size, int(labels.max()) + 1, Generator(seed))
    path = os.path.join(cache_dir or CACHE_DIR, f"{name}-{size}.npz")
    if os.path.exists(path):
        state = serialize.load(path)
        model.load_state_dict(state["weights"])
        return model.eval(), float(state["test_accuracy"])
    fit(model, images, labels, epochs, seed=seed, desc=f"training the {name} classifier (cached after)")
    test_accuracy = accuracy(predict(model, test[0], desc="the classifier on the test set"), test[1])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    serialize.save({"weights": model.state_dict(), "test_accuracy": test_accuracy, "epochs": epochs}, path)
    return model, test_accuracy
