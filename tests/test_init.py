import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from minigan.nn import init

BIG = (64, 32, 3, 3)  # enough draws that the extremes come close to the bounds


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("conv_transpose2d", None),
                                                 ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
                                                 ("leaky_relu", None), ("leaky_relu", 0.2),
                                                 ("leaky_relu", math.sqrt(5))])
def test_calculate_gain_is_torchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple))
def test_fans_are_torchs(shape):
    assert init.fans(mg.zeros(shape)) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans(mg.zeros(3))


def _torch_bound(name, shape, **kwargs):
    """The bound torch documents, computed from torch's own gain and fans."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    if name == "xavier_uniform_":
        return kwargs.get("gain", 1.0) * math.sqrt(6 / (fan_in + fan_out))
    fan = fan_out if kwargs.get("mode") == "fan_out" else fan_in
    gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
    return gain * math.sqrt(3 / fan)


@pytest.mark.parametrize("name, kwargs", [
    ("xavier_uniform_", {}), ("xavier_uniform_", dict(gain=2.0)),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
])
def test_uniform_initialisers_fill_torchs_interval(name, kwargs):
    bound = _torch_bound(name, BIG, **kwargs)
    ours = mg.zeros(BIG)
    array = ours.data
    assert getattr(init, name)(ours, **kwargs, generator=mg.Generator(0)) is ours and ours.data is array  # in place
    theirs = getattr(torch.nn.init, name)(torch.zeros(BIG), **kwargs)
    for values in (ours.numpy(), theirs.numpy()):
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
        assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.size)


def test_normal_and_uniform_draw_the_asked_distribution():
    n = mg.zeros(100_000, dtype=np.float64)
    values = init.normal_(n, mean=2.0, std=0.5, generator=mg.Generator(0)).numpy()
    assert abs(values.mean() - 2.0) < 5 * 0.5 / math.sqrt(values.size)
    assert abs(values.std() - 0.5) < 0.01
    values = init.uniform_(n, -1.0, 3.0, generator=mg.Generator(0)).numpy()
    assert values.min() >= -1.0 and values.max() < 3.0 and abs(values.mean() - 1.0) < 0.02


def test_constant_zeros_ones_keep_dtype():
    t = mg.full((2, 3), 7.0, dtype=np.float64)
    for fill, expected in ((lambda: init.constant_(t, 0.25), 0.25), (lambda: init.zeros_(t), 0),
                           (lambda: init.ones_(t), 1)):
        assert fill() is t
        np.testing.assert_array_equal(t.numpy(), np.full((2, 3), expected))
        assert t.dtype == np.float64


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_uniform_"])
def test_a_seed_fixes_the_values_and_dtype_is_kept(name):
    a, b, c = (mg.zeros(4, 5, dtype=np.float32) for _ in range(3))
    getattr(init, name)(a, generator=mg.Generator(7))
    getattr(init, name)(b, generator=mg.Generator(7))
    getattr(init, name)(c, generator=mg.Generator(8))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy()) and a.dtype == np.float32


def test_kaiming_uniform_checks_mode():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(mg.zeros(3, 3), mode="fan_avg")
