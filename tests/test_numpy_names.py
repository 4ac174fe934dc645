import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan as mg
from minigan import backend
from minigan.ops import numpy_names
from minigan.testing import broadcastable_shapes, float_arrays, shapes

SHAPES = dict(min_dims=1, max_dims=3, max_side=3)


def test_array_module_of_a_tensor_is_minigans_ops_under_numpys_names():
    assert backend.array_module(mg.ones(2)) is numpy_names
    assert backend.array_module(mg.ones(2).data) is np


def _same(ours, theirs):
    assert isinstance(ours, mg.Tensor)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-12, atol=1e-15)


@given(data=st.data())
def test_elementwise_functions_compute_what_numpy_does(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    a, b = data.draw(float_arrays(a_shape, low=0.1)), data.draw(float_arrays(b_shape))
    x, y = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    for name in ("exp", "log", "log1p", "sqrt"):
        _same(getattr(numpy_names, name)(x), getattr(np, name)(a))
    for name in ("maximum", "minimum"):
        _same(getattr(numpy_names, name)(x, y), getattr(np, name)(a, b))
    _same(numpy_names.where(b > 0, x, y), np.where(b > 0, a, b))
    for name in ("greater", "greater_equal", "less", "less_equal", "equal"):
        mask = getattr(numpy_names, name)(x, y)
        assert isinstance(mask, np.ndarray)  # a constant: no Tensor, no graph
        np.testing.assert_array_equal(mask, getattr(np, name)(a, b))


@given(data=st.data())
def test_shape_functions_compute_what_numpy_does(data):
    shape = data.draw(shapes(**SHAPES))
    a = data.draw(float_arrays(shape))
    x = mg.tensor(a, requires_grad=True)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    added = data.draw(st.integers(1, 2))
    new_axes = data.draw(st.integers(-len(shape) - 1, len(shape)) if added == 1 else
                         hnp.valid_tuple_axes(len(shape) + added, min_size=added, max_size=added))
    axes_order = data.draw(st.permutations(range(len(shape))))
    _same(numpy_names.sum(x, axis=axis, keepdims=True), np.sum(a, axis=axis, keepdims=True))
    _same(numpy_names.broadcast_to(x, (2,) + shape), np.broadcast_to(a, (2,) + shape))
    _same(numpy_names.expand_dims(x, new_axes), np.expand_dims(a, new_axes))
    _same(numpy_names.transpose(x), np.transpose(a))
    _same(numpy_names.transpose(x, axes_order), np.transpose(a, axes_order))
    _same(numpy_names.swapaxes(x, axis, 0), np.swapaxes(a, axis, 0))
    _same(numpy_names.moveaxis(x, axis, -1), np.moveaxis(a, axis, -1))
    _same(numpy_names.reshape(x, (-1,)), np.reshape(a, (-1,)))
    splits = sorted(data.draw(st.lists(st.integers(0, shape[axis]), max_size=2)))
    for ours, theirs in zip(numpy_names.split(x, splits, axis=axis), np.split(a, splits, axis=axis), strict=True):
        _same(ours, theirs)
    _same(numpy_names.stack([x, x], axis=0), np.stack([a, a], axis=0))
    _same(numpy_names.concatenate([x, x], axis=axis), np.concatenate([a, a], axis=axis))


EINSUMS = {  # subscripts: operand shapes
    "ij,jk->ik": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 2, 3), (2, 3, 2)],
    "nchw->c": [(2, 3, 2, 2)],
    "nchw,nchw->c": [(2, 3, 2, 2), (2, 3, 2, 2)],
    "i,i->": [(4,), (4,)],
    "i,j->ij": [(2,), (3,)],
    "ij->ji": [(2, 3)],
    "c,nchw->nchw": [(3,), (2, 3, 1, 2)],
}


@pytest.mark.parametrize("subscripts", EINSUMS)
@given(data=st.data())
def test_einsum_computes_what_numpy_does_and_differentiates_twice(subscripts, data):
    arrays = [data.draw(float_arrays(shape)) for shape in EINSUMS[subscripts]]
    tensors = [mg.tensor(a, requires_grad=True) for a in arrays]
    _same(numpy_names.einsum(subscripts, *tensors), np.einsum(subscripts, *arrays))
    assert mg.gradgradcheck(lambda *ts: numpy_names.einsum(subscripts, *ts) ** 2.0, tensors)


def test_out_gives_the_dtype_of_a_constant_and_nothing_is_written_in_place():
    x, y = mg.tensor(np.array([1.0, -2.0]), requires_grad=True), mg.tensor(np.array([0.0, 0.0]))
    placeholder = numpy_names.empty_like(x)
    mask = numpy_names.greater(x, y, out=placeholder)
    assert isinstance(mask, mg.Tensor) and not mask.requires_grad and mask is not placeholder
    np.testing.assert_array_equal(mask.numpy(), [1.0, 0.0])
