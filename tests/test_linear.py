import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import assert_matches_torch, check_op

import minigan as mg
import minigan.nn.functional as F
from minigan.testing import float_arrays, shapes


@given(data=st.data(), bias=st.booleans())
def test_linear_gradcheck_and_torch(data, bias):
    batch = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    arrays = [data.draw(float_arrays(s)) for s in [batch + (n_in,), (n_out, n_in)] + [(n_out,)] * bias]
    check_op(F.linear, torch.nn.functional.linear, arrays, rtol=1e-9)


@pytest.mark.parametrize("x_shape, w_shape, b_shape", [((2, 3), (4, 2), None), ((2, 3), (4, 3), (3,)),
                                                       ((2, 3), (3,), None)])
def test_linear_shape_errors(x_shape, w_shape, b_shape):
    bias = None if b_shape is None else mg.zeros(b_shape)
    with pytest.raises(ValueError, match="linear"):
        F.linear(mg.zeros(x_shape), mg.zeros(w_shape), bias)


def _torch_maxout(x, pieces):
    return x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces)).amax(-1)


@given(data=st.data())
def test_maxout_gradcheck_and_torch(data):
    batch = data.draw(shapes(min_dims=0, max_dims=2, max_side=3))
    units, pieces = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(float_arrays(batch + (units * pieces,), distinct=True))
    check_op(lambda t: F.maxout(t, pieces), lambda t: _torch_maxout(t, pieces), [x], rtol=1e-9)


@given(data=st.data())
def test_maxout_splits_the_gradient_evenly_between_tied_pieces_as_torch_amax(data):
    units, pieces = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    x = data.draw(st.lists(st.sampled_from([-1.0, 0.0, 2.0]), min_size=3 * units * pieces,
                           max_size=3 * units * pieces))  # three values: ties in most units
    assert_matches_torch(lambda t: F.maxout(t, pieces), lambda t: _torch_maxout(t, pieces),
                         [np.reshape(x, (3, units * pieces))], rtol=1e-12)


def test_maxout_groups_each_units_pieces_side_by_side():
    x = mg.tensor([[1.0, 5.0, 2.0, 7.0, 3.0, 4.0]])
    np.testing.assert_array_equal(F.maxout(x, 2).numpy(), [[5.0, 7.0, 4.0]])
    np.testing.assert_array_equal(F.maxout(x, 3).numpy(), [[5.0, 7.0]])
    with pytest.raises(ValueError, match="multiple of pieces=4"):
        F.maxout(x, 4)


@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2 ** 32))
def test_dropout_zeroes_or_scales_as_torch_does(p, seed):
    x = np.random.default_rng(seed).uniform(1, 2, (4, 50))  # never 0, so a 0 out means dropped
    ours = F.dropout(mg.tensor(x), p, generator=mg.Generator(seed)).numpy()
    theirs = torch.nn.functional.dropout(torch.tensor(x), p).numpy()
    for out in (ours, theirs):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)


def test_dropout_drops_a_fraction_p():
    p, n = 0.3, 200_000
    dropped = (F.dropout(mg.ones(n), p, generator=mg.Generator(0)).numpy() == 0).mean()
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)  # 5 standard deviations


@given(data=st.data(), p=st.sampled_from([0.0, 0.2, 0.5, 1.0]))
def test_dropout_gradcheck(data, p):
    x = data.draw(float_arrays(data.draw(shapes(max_dims=3))))
    # a fresh generator with the same seed in every call: the same mask for every forward
    assert mg.gradcheck(lambda t: F.dropout(t, p, generator=mg.Generator(1)), [mg.tensor(x, requires_grad=True)])
    assert mg.gradgradcheck(lambda t: F.dropout(t * t, p, generator=mg.Generator(1)),
                            [mg.tensor(x, requires_grad=True)])


def test_dropout_is_seeded_identity_in_eval_and_checks_p():
    x = mg.randn(10, 10)
    a, b = (F.dropout(x, 0.5, generator=mg.Generator(3)).numpy() for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros((10, 10)))
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)

