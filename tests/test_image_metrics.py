"""Image metrics: the classifier (trained with minigan, cached), Frechet distance, coverage, the linear probes."""
import os
from types import SimpleNamespace

import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.data import write_idx
from minigan.gan import Run, TrainConfig, Trainer, dcgan
from minigan.gan import classifier, image_metrics


def halves(n, size=8, seed=0):
    """Images (n, 1, size, size) in [-1, 1], class 0 bright on the left half, class 1 on the right, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    x = np.full((n, 1, size, size), -1.0, np.float32)
    x[labels == 0, :, :, :size // 2] = 1
    x[labels == 1, :, :, size // 2:] = 1
    return (x + 0.3 * rng.standard_normal(x.shape)).astype(np.float32), labels


def pixel_classes(counts, size=8):
    """A stand-in classifier that names the class by which of the first pixels is lit, and images lit so:
    ``counts[k]`` images of class k."""
    labels = np.repeat(np.arange(len(counts)), counts)
    images = np.full((len(labels), 1, size, size), -1.0, np.float32)
    images.reshape(len(labels), -1)[np.arange(len(labels)), labels] = 1
    head = nn.Linear(size * size, len(counts))
    head.weight.data[...] = 10 * np.eye(len(counts), size * size)
    head.bias.data[...] = 0
    return SimpleNamespace(features=nn.Flatten(), head=head), images


def test_a_set_is_at_frechet_distance_zero_from_itself_and_coverage_counts_classes_with_2_percent():
    model, images = pixel_classes([60, 30, 9, 1])  # 1% of class 3: not covered
    m = image_metrics.sample_metrics(model, images, images)
    assert abs(m["frechet_distance"]) < 1e-6 and m["classes_covered"] == 3
    assert 0.99 < m["mean_confidence"] <= 1  # logits 10 apart
    assert image_metrics.sample_metrics(model, images[:60], images)["frechet_distance"] > 0.1


def test_the_classifier_learns_a_separable_set_and_is_read_back_from_its_cache(tmp_path):
    train, test = halves(512), halves(128, seed=1)
    model, accuracy = classifier.load_or_train("halves", train, test, epochs=2, cache_dir=tmp_path)
    assert accuracy > 0.95 and os.path.exists(tmp_path / "halves-8.npz")
    cached, again = classifier.load_or_train("halves", train, test, cache_dir=tmp_path)
    assert again == accuracy
    np.testing.assert_array_equal(classifier.predict(cached, test[0]), classifier.predict(model, test[0]))
    assert classifier.predict(model.features, test[0]).shape == (128, classifier.FEATURES)


def test_the_linear_probe_gives_an_accuracy_and_beats_chance_on_separable_blobs():
    rng = np.random.default_rng(0)
    centers = 4 * rng.standard_normal((3, 20))
    y = rng.integers(0, 3, 600)
    x = (centers[y] + rng.standard_normal((600, 20))).astype(np.float32)
    accuracy = image_metrics.linear_probe((x[:400], y[:400]), (x[400:], y[400:]), epochs=100)
    assert 0.9 < accuracy <= 1
    noise = rng.standard_normal((600, 20)).astype(np.float32)  # no signal: an accuracy still, near chance
    assert 0 <= image_metrics.linear_probe((noise[:400], y[:400]), (noise[400:], y[400:]), epochs=1) < 0.6


def test_discriminator_features_pool_every_hidden_layer_to_4x4():
    D = dcgan.dcgan_discriminator(1, 4, 32)  # hidden layers: 4 x 16x16, 8 x 8x8, 16 x 4x4
    features = image_metrics.discriminator_features(D.eval(), minigan.randn(3, 1, 32, 32))
    assert features.shape == (3, (4 + 8 + 16) * 16)


def fake_mnist(folder, n_train=10_200, n_test=60):
    """Fashion-MNIST-like IDX files: 200 training images (after the 10,000 of validation) of 2 classes."""
    rng = np.random.default_rng(0)
    os.makedirs(folder)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[labels == 1, :, 14:] += 200
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), labels)
    return folder


def test_evaluate_a_dcgan_run_on_a_labelled_dataset(tmp_path):
    data = fake_mnist(tmp_path / "data")
    config = TrainConfig.for_model("dcgan", "fashion-mnist", steps=2, epochs=None, batch_size=16, noise_dim=8,
                                   data_dir=str(data), arch=dict(image_size=16, ngf=4, ndf=4))
    Trainer(config, tmp_path / "run", quiet=True).fit()
    m = image_metrics.evaluate(Run(tmp_path / "run"), n=40, cache_dir=tmp_path / "cache")
    assert set(m) == {"classifier_test_accuracy", "frechet_distance", "classes_covered", "mean_confidence",
                      "probe_d_accuracy", "probe_pixels_accuracy"}
    assert m["frechet_distance"] > 0 and 1 <= m["classes_covered"] <= 2
    assert all(0 <= m[k] <= 1 for k in ("classifier_test_accuracy", "probe_d_accuracy", "probe_pixels_accuracy"))
    assert os.path.exists(tmp_path / "cache" / "fashion-mnist-16.npz")
