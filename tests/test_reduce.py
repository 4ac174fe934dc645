import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_parity import assert_matches_torch, assert_second_order_matches_torch, check_op, torch

import minigan as mg
from minigan.ops.reduce import reduced_axes
from minigan.testing import axes, float_arrays, shapes

SHAPES = dict(max_dims=3, max_side=4)


def _dim(axis, ndim):
    """torch's dim for minigan's axis: all axes for None."""
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {  # name: (minigan, torch, distinct values needed)
    "sum": (mg.sum, torch.sum, False),
    "mean": (mg.mean, torch.mean, False),
    "max": (mg.max, torch.amax, True),
    "min": (mg.min, torch.amin, True),
    "logsumexp": (mg.logsumexp, torch.logsumexp, False),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data(), keepdims=st.booleans())
def test_reduction_matches_gradcheck_and_torch(name, data, keepdims):
    ours, theirs, distinct = REDUCTIONS[name]
    shape = data.draw(shapes(**SHAPES))
    axis = data.draw(axes(len(shape)))
    check_op(lambda x: ours(x, axis, keepdims), lambda x: theirs(x, _dim(axis, x.ndim), keepdim=keepdims),
             [data.draw(float_arrays(shape, distinct=distinct))])


@pytest.mark.parametrize("ours, theirs", [(mg.max, torch.amax), (mg.min, torch.amin)])
@given(data=st.data())
def test_max_min_split_the_gradient_between_ties_as_torch_amax(ours, theirs, data):
    shape = data.draw(shapes(**SHAPES))
    axis = data.draw(axes(len(shape)))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-1, 1).map(float)))
    assert_matches_torch(lambda t: ours(t, axis), lambda t: theirs(t, _dim(axis, t.ndim)), [x])
    assert_second_order_matches_torch(lambda t: ours(t, axis), lambda t: theirs(t, _dim(axis, t.ndim)), [x])


@pytest.mark.parametrize("ours, theirs", [(mg.var, torch.var), (mg.std, torch.std)])
@given(data=st.data(), keepdims=st.booleans())
def test_var_std_match_gradcheck_and_torch(ours, theirs, data, keepdims):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    axis = data.draw(axes(len(shape)))
    n = math.prod(shape[i] for i in reduced_axes(axis, len(shape)))
    assume(n > 1 or ours is mg.var)  # std has no derivative where the variance is 0
    correction = data.draw(st.integers(0, n - 1))
    check_op(lambda x: ours(x, axis, keepdims, correction=correction),
             lambda x: theirs(x, _dim(axis, x.ndim), correction=correction, keepdim=keepdims),
             [data.draw(float_arrays(shape, distinct=True))])


@pytest.mark.parametrize("unbiased", [True, False])
@given(x=float_arrays((3, 4)))
def test_var_std_take_torchs_unbiased_and_default_to_it(unbiased, x):
    assert_matches_torch(lambda t: mg.var(t, 1, unbiased=unbiased), lambda t: torch.var(t, 1, unbiased=unbiased), [x])
    assert_matches_torch(lambda t: t.std(0, unbiased=unbiased), lambda t: t.std(0, unbiased=unbiased), [x])
    assert_matches_torch(lambda t: t.var(), lambda t: t.var(), [x])


METHODS = {  # the same torch-style call runs on both libraries
    "sum": lambda t: t.sum(dim=1, keepdim=True),
    "mean": lambda t: t.mean(dim=(0, 2)),
    "var": lambda t: t.var(dim=-1, keepdim=True),
    "std": lambda t: t.std(dim=0, correction=0),
    "logsumexp": lambda t: t.logsumexp(dim=1),
}


@pytest.mark.parametrize("name", METHODS)
@given(x=float_arrays((2, 3, 4), distinct=True))  # std's gradient is ill-conditioned where values nearly tie
def test_tensor_methods_take_torchs_dim_and_keepdim(name, x):
    assert_matches_torch(METHODS[name], METHODS[name], [x])


@pytest.mark.parametrize("ours, theirs", [(mg.max, torch.amax), (mg.min, torch.amin)])
@given(x=float_arrays((3, 4), distinct=True))
def test_tensor_max_min_are_values_as_numpys(ours, theirs, x):
    assert_matches_torch(lambda t: getattr(t, ours.__name__)(dim=1, keepdim=True),
                         lambda t: theirs(t, dim=1, keepdim=True), [x])


@pytest.mark.parametrize("scale", [1e2, 1e4])
@given(data=st.data())
def test_logsumexp_is_stable_for_large_inputs(scale, data):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    x = data.draw(float_arrays(shape)) * scale
    assert_matches_torch(lambda t: mg.logsumexp(t, -1), lambda t: torch.logsumexp(t, -1), [x])
    assert_second_order_matches_torch(lambda t: mg.logsumexp(t, -1), lambda t: torch.logsumexp(t, -1), [x])


def test_logsumexp_of_all_minus_infinity_is_minus_infinity_as_torch():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    with np.errstate(divide="ignore"):
        out = mg.logsumexp(mg.tensor(x), axis=1).numpy()
    np.testing.assert_array_equal(out, torch.logsumexp(torch.from_numpy(x), 1).numpy())


@pytest.mark.parametrize("op", [mg.sum, mg.mean, mg.max, mg.logsumexp])
@given(x=float_arrays((2, 3)))
def test_reducing_over_no_axes_is_the_identity_as_numpy(op, x):
    t = mg.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(op(t, ()).numpy(), getattr(np, op.__name__, np.sum)(x, axis=()))
    assert mg.gradcheck(lambda a: op(a, ()), [t])
    assert mg.gradgradcheck(lambda a: op(a, ()), [t])


@pytest.mark.parametrize("op", [mg.sum, mg.max, mg.var, mg.logsumexp])
def test_an_axis_out_of_range_names_the_op_and_the_shape(op):
    with pytest.raises(ValueError, match=r"axis 2 is out of range.*\(3, 4\)"):
        op(mg.ones(3, 4), 2)


@given(x=float_arrays((3, 1)), correction=st.integers(0, 1))
def test_std_of_a_constant_has_gradient_zero_as_torch(x, correction):
    constant_rows = np.repeat(x, 4, axis=1)
    assert_matches_torch(lambda t: mg.std(t, 1, correction=correction), lambda t: t.std(1, correction=correction),
                         [constant_rows])
