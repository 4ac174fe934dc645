import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_parity import F, assert_matches_torch, assert_second_order_matches_torch, check_op, torch

import minigan as mg
from minigan import backend
from minigan.testing import axes, float_arrays, shapes

SHAPES = dict(max_dims=3, max_side=4)


@given(data=st.data())
def test_reshape_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(**SHAPES))
    target = list(data.draw(st.permutations(shape)))
    if target and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    x = data.draw(float_arrays(shape))
    check_op(lambda t: mg.reshape(t, target), lambda t: torch.reshape(t, target), [x])
    check_op(lambda t: t.reshape(*target), lambda t: t.reshape(target), [x])
    check_op(lambda t: t.view(target), lambda t: t.view(target), [x])


@given(data=st.data())
def test_flatten_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(**SHAPES))
    ndim = max(len(shape), 1)
    start, end = sorted(data.draw(st.lists(st.integers(0, ndim - 1), min_size=2, max_size=2)))
    start, end = start - data.draw(st.sampled_from([0, ndim])), end - data.draw(st.sampled_from([0, ndim]))
    check_op(lambda t: t.flatten(start, end), lambda t: t.flatten(start, end), [data.draw(float_arrays(shape))])


@given(data=st.data())
def test_permute_and_transpose_match_gradcheck_and_torch(data):
    shape = data.draw(shapes(**SHAPES))
    x = data.draw(float_arrays(shape))
    dims = data.draw(st.permutations(range(len(shape))))
    check_op(lambda t: mg.permute(t, dims), lambda t: torch.permute(t, dims), [x])
    check_op(lambda t: t.permute(*dims), lambda t: t.permute(dims), [x])
    check_op(lambda t: t.T, lambda t: t.permute(tuple(reversed(range(t.ndim)))), [x])
    if shape:
        dim0, dim1 = (data.draw(st.integers(-len(shape), len(shape) - 1)) for _ in range(2))
        check_op(lambda t: mg.transpose(t, dim0, dim1), lambda t: torch.transpose(t, dim0, dim1), [x])


@given(data=st.data())
def test_squeeze_unsqueeze_match_gradcheck_and_torch(data):
    shape = data.draw(shapes(max_dims=3, max_side=2))
    x = data.draw(float_arrays(shape))
    axis = data.draw(axes(len(shape)))
    check_op(lambda t: t.squeeze(axis), lambda t: t.squeeze() if axis is None else t.squeeze(axis), [x])
    new = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda t: mg.unsqueeze(t, new), lambda t: torch.unsqueeze(t, new), [x])
    check_op(lambda t: t.unsqueeze(dim=new), lambda t: t.unsqueeze(dim=new), [x])


@given(data=st.data())
def test_expand_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    kept = [data.draw(st.sampled_from([-1, n] if n != 1 else [-1, 1, 2, 3])) for n in shape]
    sizes = tuple(lead + kept)
    check_op(lambda t: t.expand(*sizes), lambda t: t.expand(sizes), [data.draw(float_arrays(shape))])
    check_op(lambda t: mg.expand(t, sizes), lambda t: t.expand(sizes), [data.draw(float_arrays(shape))])


def _torch_index(index):
    return tuple(map(_torch_index, index)) if isinstance(index, tuple) else (
        torch.from_numpy(index) if isinstance(index, np.ndarray) else index)


def _has_negative_step(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, slice) and (p.step or 1) < 0 for p in parts)


@given(data=st.data())
def test_basic_indexing_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(**SHAPES))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    x = data.draw(float_arrays(shape))
    assert mg.gradcheck(lambda t: t[index], [mg.tensor(x, requires_grad=True)])
    assert mg.gradgradcheck(lambda t: t[index], [mg.tensor(x, requires_grad=True)])
    if not _has_negative_step(index):  # torch has no negative steps
        assert_matches_torch(lambda t: t[index], lambda t: t[index], [x])
        assert_second_order_matches_torch(lambda t: t[index] * t[index], lambda t: t[index] * t[index], [x])


@given(data=st.data())
def test_integer_array_indexing_accumulates_repeats_as_torch(data):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    index = data.draw(hnp.integer_array_indices(shape))
    check_op(lambda t: t[index], lambda t: t[_torch_index(index)], [data.draw(float_arrays(shape))])


@given(data=st.data())
def test_a_repeated_index_gets_the_sum_of_its_gradients(data):
    n = data.draw(st.integers(1, 4))
    rows = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=n + 1, max_size=2 * n + 1)))
    x = data.draw(float_arrays((n, 3)))
    check_op(lambda t: t[rows], lambda t: t[torch.from_numpy(rows)], [x])
    check_op(lambda t: t[mg.tensor(rows), 1:], lambda t: t[torch.from_numpy(rows), 1:], [x])
    check_op(lambda t: t[list(rows)], lambda t: t[list(rows)], [x])


@given(data=st.data())
def test_boolean_mask_indexing_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    mask = data.draw(hnp.arrays(np.bool_, shape[:data.draw(st.integers(1, len(shape)))]))
    x = data.draw(float_arrays(shape))
    check_op(lambda t: t[mask], lambda t: t[torch.from_numpy(mask)], [x])
    check_op(lambda t: t[mg.tensor(mask)], lambda t: t[torch.from_numpy(mask)], [x])


@given(data=st.data())
def test_concatenate_and_stack_match_gradcheck_and_torch(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    count = data.draw(st.integers(1, 3))
    slabs = [data.draw(float_arrays(shape[:axis % len(shape)] + (data.draw(st.integers(1, 3)),)
                                    + shape[axis % len(shape) + 1:])) for _ in range(count)]
    check_op(lambda *ts: mg.concatenate(ts, axis), lambda *ts: torch.cat(ts, axis), slabs)
    check_op(lambda *ts: mg.concatenate(ts, dim=axis), lambda *ts: torch.cat(ts, dim=axis), slabs)
    new = data.draw(st.integers(-len(shape) - 1, len(shape)))
    same = [data.draw(float_arrays(shape)) for _ in range(count)]
    check_op(lambda *ts: mg.stack(ts, new), lambda *ts: torch.stack(ts, new), same)


@given(data=st.data())
def test_pad_matches_gradcheck_and_torch(data):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    widths = [tuple(data.draw(st.lists(st.integers(0, 2), min_size=2, max_size=2))) for _ in shape]
    value = data.draw(st.floats(-2, 2))
    flat = [w for pair in reversed(widths) for w in pair]  # torch: last axis first
    check_op(lambda t: mg.pad(t, widths, value), lambda t: F.pad(t, flat, value=value),
             [data.draw(float_arrays(shape))])


@pytest.mark.parametrize("pad_width", [1, (1, 2), ((0, 1),), ((2, 0), (1, 1))])
@given(x=float_arrays((2, 3)))
def test_pad_takes_numpys_short_forms(pad_width, x):
    t = mg.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(mg.pad(t, pad_width, 5.0).numpy(), np.pad(x, pad_width, constant_values=5.0))
    assert mg.gradcheck(lambda a: mg.pad(a, pad_width), [t])
    assert mg.gradgradcheck(lambda a: mg.pad(a, pad_width), [t])


def test_to_device_is_a_differentiable_copy():
    x = mg.tensor(np.arange(3.0), requires_grad=True)
    y = x.to("cpu")
    assert y.grad_fn.name == "ToDevice"
    assert mg.gradcheck(lambda t: t.to("cpu") * t, [x])
    assert mg.gradgradcheck(lambda t: t.to("cpu") * t, [x])


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_the_gradient_of_a_copy_to_the_gpu_comes_back_to_the_cpu():
    x = mg.tensor(np.arange(3.0), requires_grad=True)
    (x.to("cuda") * 2.0).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0))


@pytest.mark.parametrize("op, message", [
    (lambda: mg.ones(2, 3).reshape(4, 2), r"Reshape: .*\(4, ?2\).*\(2, 3\)"),
    (lambda: mg.concatenate([mg.ones(2, 3), mg.ones(2, 4)]), r"Concatenate: .*\(2, 3\), \(2, 4\)"),
    (lambda: mg.stack([mg.ones(2, 3), mg.ones(2, 4)]), r"Stack: .*\(2, 3\), \(2, 4\)"),
    (lambda: mg.ones(2, 3).permute(1, 0, 2), r"Permute: .*\(2, 3\)"),
    (lambda: mg.ones(2, 3).expand(4, 3, 4), r"Expand: .*\(2, 3\)"),
    (lambda: mg.pad(mg.ones(2, 3), ((1, 1), (1, 1), (1, 1))), r"Pad: .*\(2, 3\)"),
])
def test_a_shape_mismatch_names_the_op_and_the_shapes(op, message):
    with pytest.raises(ValueError, match=message):
        op()
