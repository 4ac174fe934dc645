import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_parity import assert_matches_torch, check_second_order

import minigan as mg
import minigan.nn.functional as F
from minigan.nn.normalization import batch_norm_backward, batch_norm_forward
from minigan.testing import float_arrays


@st.composite
def batch_shapes(draw, max_side=4):
    """(N, C) or (N, C, H, W) with at least 2 values per channel, as training needs."""
    c = draw(st.integers(1, max_side))
    if draw(st.booleans()):
        return draw(st.integers(2, max_side + 1)), c
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    assume(n * h * w > 1)
    return n, c, h, w


def _affine(data, c, affine):
    return [data.draw(float_arrays((c,))) for _ in range(2)] if affine else []


@given(data=st.data(), affine=st.booleans())
def test_training_gradcheck(data, affine):
    shape = data.draw(batch_shapes())
    arrays = [data.draw(float_arrays(shape))] + _affine(data, shape[1], affine)
    assert mg.gradcheck(lambda x, *wb: F.batch_norm(x, None, None, *wb, training=True),
                        [mg.tensor(a, requires_grad=True) for a in arrays])


@given(data=st.data(), affine=st.booleans(), momentum=st.sampled_from([0.1, 0.5, 1.0]))
def test_training_matches_torch_and_updates_running_stats_as_torch(data, affine, momentum):
    shape = data.draw(batch_shapes())
    c = shape[1]
    arrays = [data.draw(float_arrays(shape))] + _affine(data, c, affine)
    start = [data.draw(float_arrays((c,))), data.draw(float_arrays((c,), low=0.1))]
    ours, theirs = [mg.tensor(a) for a in start], [torch.tensor(a) for a in start]
    assert_matches_torch(lambda x, *wb: F.batch_norm(x, *ours, *wb, training=True, momentum=momentum),
                         lambda x, *wb: torch.nn.functional.batch_norm(x, *theirs, *wb, training=True,
                                                                       momentum=momentum),
                         arrays, rtol=1e-9)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


@given(data=st.data(), affine=st.booleans())
def test_eval_gradcheck_and_torch(data, affine):
    shape = data.draw(batch_shapes())
    c = shape[1]
    arrays = [data.draw(float_arrays(shape))] + _affine(data, c, affine)
    mean, var = data.draw(float_arrays((c,))), data.draw(float_arrays((c,), low=0.1))
    ours = lambda x, *wb: F.batch_norm(x, mg.tensor(mean), mg.tensor(var), *wb)  # noqa: E731
    assert mg.gradcheck(ours, [mg.tensor(a, requires_grad=True) for a in arrays])
    assert_matches_torch(ours, lambda x, *wb: torch.nn.functional.batch_norm(
        x, torch.tensor(mean), torch.tensor(var), *wb), arrays, rtol=1e-9)


@given(data=st.data(), affine=st.booleans(), training=st.booleans())
def test_second_order_gradcheck_and_torch(data, affine, training):
    shape = data.draw(batch_shapes(max_side=3))  # gradgradcheck perturbs every element of x and of grad
    c = shape[1]
    arrays = [data.draw(float_arrays(shape))] + _affine(data, c, affine)
    mean, var = data.draw(float_arrays((c,))), data.draw(float_arrays((c,), low=0.1))
    check_second_order(lambda x, *wb: F.batch_norm(x, mg.tensor(mean), mg.tensor(var), *wb, training=training),
                       lambda x, *wb: torch.nn.functional.batch_norm(x, torch.tensor(mean), torch.tensor(var), *wb,
                                                                     training=training), arrays)


def test_float32_in_float32_out():
    x, w, b = mg.randn(4, 3, 2, 2, requires_grad=True), mg.ones(3, requires_grad=True), mg.zeros(3)
    y = F.batch_norm(x, mg.zeros(3), mg.ones(3), w, b, training=True)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


def test_kernels_return_biased_var_and_closed_form_grads():
    rng = np.random.default_rng(0)
    x, w, b, g = rng.standard_normal((5, 3, 2, 2)), rng.standard_normal(3), rng.standard_normal(3), \
        rng.standard_normal((5, 3, 2, 2))
    y, mean, var = batch_norm_forward(x, w, b, 1e-5)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.batch_norm(xt, None, None, wt, bt, training=True)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in zip(batch_norm_backward(g, x, mean, var, w, 1e-5), (xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("args, message", [
    (((3,), None, None), "expected an input"),
    (((1, 3), None, None), "more than 1 value per channel"),
    (((4, 3), (2,), (3,)), "running_mean of shape"),
    (((4, 3), (3,), None), "both running_mean and running_var"),
])
def test_bad_arguments_raise_clear_errors(args, message):
    x, mean, var = (None if s is None else mg.zeros(s) for s in args)
    with pytest.raises(ValueError, match=message):
        F.batch_norm(x, mean, var, training=True)


def test_eval_needs_running_stats():
    with pytest.raises(ValueError, match="running statistics"):
        F.batch_norm(mg.zeros(4, 3), None, None, training=False)
