"""The MLP GAN's networks and recipes, and Proposition 1 of the paper (the optimal discriminator)."""
import importlib.util
import math
import os

import numpy as np
import pytest

import minigan
from minigan.gan import TrainConfig, get_family
from minigan.gan.mlp import int_list

MLP = get_family("mlp-gan")


def build(dataset, pack=1, **arch):
    config = TrainConfig.for_model("mlp-gan", dataset, pack=pack, arch=arch)
    shape = minigan.gan.get_dataset(dataset).shape
    return config, *MLP.build(config, shape, minigan.Generator(0), minigan.Generator(1))


def n_params(net):
    return sum(p.size for p in net.parameters())


def test_the_paper_sizes_are_the_mnist_default():
    config, G, D = build("mnist")
    assert config.scale == "unit" and config.optimizer == "sgd" and config.noise == "uniform"
    assert n_params(G) == (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 784 + 784)
    assert n_params(D) == (784 * 240 * 5 + 240 * 5) + (240 * 240 * 5 + 240 * 5) + (240 + 1)


def test_images_come_out_in_the_unit_interval_and_points_unbounded():
    config, G, D = build("fashion-mnist", g_hidden=[8], d_hidden=[4])
    x = G(MLP.sample_noise(config, 3, minigan.Generator(0), "cpu"))
    assert x.shape == (3, 1, 28, 28) and 0 <= x.numpy().min() and x.numpy().max() <= 1
    assert D(x).shape == (3, 1)
    config, G, D = build("ring", pack=2, g_hidden=[8], d_hidden=[4])
    z = MLP.sample_noise(config, 4, minigan.Generator(0), "cpu")
    assert G(z).shape == (4, 2) and D(G(z).reshape(2, 4)).shape == (2, 1)
    G[-1].bias.data += 100  # a linear output layer: no squashing
    assert G(z).numpy().min() > 50


def test_one_generator_seed_gives_one_network():
    weights = [[p.numpy() for p in build("ring")[1].parameters()] for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_noise_is_uniform_on_minus_one_one_or_normal():
    config, *_ = build("mnist")
    z = MLP.sample_noise(config, 10_000, minigan.Generator(0), "cpu").numpy()
    assert z.shape == (10_000, 100) and -1 <= z.min() < -0.99 and 0.99 < z.max() <= 1
    config, *_ = build("ring")
    z = MLP.sample_noise(config, 10_000, minigan.Generator(0), "cpu").numpy()
    # within 4 standard errors: 1 / sqrt(n) for the mean, 1 / sqrt(2 n) for the std, of N(0, 1) draws
    assert z.shape == (10_000, config.noise_dim)
    assert abs(z.mean()) < 4 / np.sqrt(z.size) and abs(z.std() - 1) < 4 / np.sqrt(2 * z.size)


def test_int_list():
    assert int_list("1200, 1200") == [1200, 1200]
    with pytest.raises(ValueError):
        int_list("0,3")


@pytest.fixture(scope="module")
def theory():
    """examples/optimal_discriminator.py, whose functions the two tests below check."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "optimal_discriminator.py")
    spec = importlib.util.spec_from_file_location("optimal_discriminator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_trained_discriminator_approaches_the_optimal_one(theory):
    """max |D(x) - D*(x)| below 0.05 over x in [-2, 2], where D* = p_data / (p_data + p_g) spans
    [0.08, 0.82] (in the far tails few samples fall and D is free)."""
    D = theory.train_discriminator(theory.DATA, theory.GEN)
    x = np.linspace(-2, 2, 101)
    p_data, p_g = theory.density(x, theory.DATA), theory.density(x, theory.GEN)
    error = np.abs(theory.d_of(D, x) - p_data / (p_data + p_g))
    assert error.max() < 0.05, error.max()


def test_when_p_g_is_p_data_the_best_value_is_minus_log_4(theory):
    """V(D, G) <= -log 4 for every D when p_g = p_data; the trained D reaches it within 3 standard errors
    plus 0.001 (what D's own distance from 1/2 costs)."""
    D = theory.train_discriminator(theory.DATA, theory.DATA, steps=100)
    v, stderr = theory.value(D, theory.DATA, theory.DATA)
    assert abs(v + math.log(4)) < 3 * stderr + 0.001, (v, stderr)
