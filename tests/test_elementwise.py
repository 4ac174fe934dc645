import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_parity import assert_matches_torch, assert_second_order_matches_torch, check_op, torch

import minigan as mg
from minigan.testing import broadcastable_shapes, distinct_arrays, float_arrays, shapes

SHAPES = dict(max_dims=3, max_side=4)
POSITIVE = dict(low=0.1, high=4.0)

# name: (minigan, torch, bounds of the input)
UNARY = {
    "neg": (mg.neg, torch.neg, {}),
    "-x": (operator.neg, operator.neg, {}),
    "abs": (mg.abs, torch.abs, {}),  # kink at 0 (float_arrays keeps away from it)
    "abs(x)": (abs, abs, {}),
    "exp": (mg.exp, torch.exp, {}),
    "Tensor.exp": (lambda x: x.exp(), lambda x: x.exp(), {}),
    "log": (mg.log, torch.log, POSITIVE),
    "Tensor.log": (lambda x: x.log(), lambda x: x.log(), POSITIVE),
    "sqrt": (mg.sqrt, torch.sqrt, POSITIVE),
    "Tensor.sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), POSITIVE),
    "clip": (lambda x: mg.clip(x, -1.0, 2.0), lambda x: torch.clamp(x, -1.0, 2.0), dict(kinks=(-1.0, 2.0))),
    "clip low": (lambda x: x.clip(-1.0), lambda x: x.clip(-1.0), dict(kinks=(-1.0,))),
    "clip high": (lambda x: mg.clip(x, high=0.5), lambda x: torch.clamp(x, max=0.5), dict(kinks=(0.5,))),
    "2 - x": (lambda x: 2.0 - x, lambda x: 2.0 - x, {}),
    "3 / x": (lambda x: 3.0 / x, lambda x: 3.0 / x, dict(margin=0.3)),
    "2 ** x": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, {}),
    "x ** 3": (lambda x: x ** 3.0, lambda x: x ** 3.0, {}),
    "x * 2 + 1": (lambda x: x * 2.0 + 1.0, lambda x: x * 2.0 + 1.0, {}),
    "x / 4 - 1": (lambda x: x / 4.0 - 1.0, lambda x: x / 4.0 - 1.0, {}),
}

# name: (minigan, torch, bounds of a, bounds of b)
BINARY = {
    "add": (mg.add, torch.add, {}, {}),
    "+": (operator.add, operator.add, {}, {}),
    "sub": (mg.sub, torch.sub, {}, {}),
    "-": (operator.sub, operator.sub, {}, {}),
    "mul": (mg.mul, torch.mul, {}, {}),
    "*": (operator.mul, operator.mul, {}, {}),
    "div": (mg.div, torch.div, {}, dict(margin=0.3)),
    "/": (operator.truediv, operator.truediv, {}, dict(margin=0.3)),
    "pow": (mg.pow, torch.pow, POSITIVE, dict(low=-2.0, high=2.0)),
    "**": (operator.pow, operator.pow, POSITIVE, dict(low=-2.0, high=2.0)),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_matches_gradcheck_and_torch(name, data):
    ours, theirs, bounds = UNARY[name]
    check_op(ours, theirs, [data.draw(float_arrays(data.draw(shapes(**SHAPES)), **bounds))])


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_broadcasts_and_matches_gradcheck_and_torch(name, data):
    ours, theirs, a_bounds, b_bounds = BINARY[name]
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    check_op(ours, theirs, [data.draw(float_arrays(a_shape, **a_bounds)), data.draw(float_arrays(b_shape, **b_bounds))])


@pytest.mark.parametrize("ours, theirs", [(mg.maximum, torch.maximum), (mg.minimum, torch.minimum)])
@given(data=st.data())
def test_maximum_minimum_match_gradcheck_and_torch(ours, theirs, data):
    shapes = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    check_op(ours, theirs, list(data.draw(distinct_arrays(shapes))))  # no ties


@pytest.mark.parametrize("ours, theirs", [(mg.maximum, torch.maximum), (mg.minimum, torch.minimum)])
@given(data=st.data())
def test_maximum_minimum_split_ties_as_torch(ours, theirs, data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    small_ints = st.integers(-1, 1).map(float)
    a, b = (data.draw(hnp.arrays(np.float64, shape, elements=small_ints)) for shape in (a_shape, b_shape))
    assert_matches_torch(ours, theirs, [a, b])
    assert_second_order_matches_torch(lambda x, y: ours(x, y) * x, lambda x, y: theirs(x, y) * x, [a, b])


@given(data=st.data())
def test_where_matches_gradcheck_and_torch(data):
    c_shape, a_shape, b_shape = data.draw(broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    condition = data.draw(hnp.arrays(np.bool_, c_shape))
    a, b = data.draw(float_arrays(a_shape)), data.draw(float_arrays(b_shape))
    check_op(lambda x, y: mg.where(condition, x, y), lambda x, y: torch.where(torch.from_numpy(condition), x, y),
             [a, b])
    check_op(lambda x, y: mg.where(mg.tensor(condition), x, y),
             lambda x, y: torch.where(torch.from_numpy(condition), x, y), [a, b])


@given(data=st.data())
def test_an_ndarray_on_the_left_calls_the_tensors_reflected_operator(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    constant = data.draw(float_arrays(a_shape, margin=0.3))
    for op in (operator.add, operator.sub, operator.mul, operator.truediv):
        check_op(lambda x: op(constant, x), lambda x: op(torch.from_numpy(constant), x),
                 [data.draw(float_arrays(b_shape, margin=0.3))])


def test_a_broadcast_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"Add: .*\(2, 3\), \(4,\)"):
        mg.ones(2, 3) + mg.ones(4)
    with pytest.raises(ValueError, match=r"Where: .*\(2,\), \(3,\)"):
        mg.where(np.array([True, False]), mg.ones(2), mg.ones(3))
