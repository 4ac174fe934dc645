"""nn/fast/columns.py: the column fast path equals nn/conv.py's reference, in both layouts."""
import types
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference_parity import assert_matches_reference

import minigan as mg
import minigan.nn.functional as F
from minigan.nn import conv
from minigan.nn.conv import pair
from minigan.nn.fast import columns
from minigan.testing import conv_configs, float_arrays

pytestmark = pytest.mark.usefixtures("fast_paths")

OURS = {False: F.conv2d, True: F.conv_transpose2d}
PATH = {False: "ColumnsConv2d", True: "ColumnsConvTranspose2d"}
# memory orders, slowest first: columns (N, C, kh, kw, OH, OW) n oh ow kh kw c or c kh kw n oh ow,
# images (N, C, H, W) n h w c or n c h w
COLUMNS_ORDER = {False: (0, 4, 5, 2, 3, 1), True: (1, 2, 3, 0, 4, 5)}
IMAGE_ORDER = {False: (0, 2, 3, 1), True: (0, 1, 2, 3)}


def _arrays(data, cfg, bias):
    shapes = [cfg.x_shape, cfg.weight_shape] + ([(cfg.out_channels,)] if bias else [])
    return [data.draw(float_arrays(shape, kinks=())) for shape in shapes]


def _geometry(cfg):
    return tuple(pair(v) for v in (cfg.stride, cfg.padding, cfg.dilation))


def _in_layout(transposed, planar, keep_columns=True, **kwargs):
    """conv2d or conv_transpose2d on planar columns or channels-last ones, checking that it takes them;
    conv2d keeping its columns for backward or making them again there."""
    def call(*tensors):
        with mock.patch.object(columns, "planar_columns", lambda shape, xp: planar), \
                mock.patch.object(columns, "keep_columns_for", lambda xp: keep_columns):
            out = OURS[transposed](*tensors, **kwargs)
        assert getattr(out.grad_fn, "planar", planar) == planar  # (the reference has no layout)
        return out
    return call


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data(), bias=st.booleans(), keep_columns=st.booleans())
def test_equals_the_reference(transposed, planar, data, bias, keep_columns):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    assert_matches_reference(_in_layout(transposed, planar, keep_columns, **cfg.kwargs), _arrays(data, cfg, bias),
                             PATH[transposed])


@pytest.mark.parametrize("keep_columns", [False, True])
def test_conv2d_keeps_its_columns_only_where_asked_and_the_weight_needs_a_gradient(keep_columns):
    x = mg.randn(2, 3, 8, 8, requires_grad=True)
    for weight_needs_grad in (False, True):
        w = mg.randn(4, 3, 4, 4, requires_grad=weight_needs_grad)
        out = _in_layout(False, False, keep_columns, stride=2, padding=1)(x, w)
        assert (out.grad_fn.saved[1] is x.data) != (keep_columns and weight_needs_grad)


def test_columns_are_kept_on_numpy_and_made_again_on_other_array_modules():
    """Memory is the GPU's scarce resource, and im2col one fast kernel there."""
    assert columns.keep_columns_for(np) and not columns.keep_columns_for(types.ModuleType("cupy"))


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("channels, width, planar", [(1, 4, True), (1, 3, False), (5, 16, True), (6, 16, False),
                                                      (64, 32, False)])
def test_columns_are_planar_where_an_output_row_is_longer_than_a_row_of_taps(transposed, channels, width, planar):
    """kw C < OW, with 3x3 kernels: OW is conv2d's output width, conv_transpose2d's input width; the
    columns' image, with C channels, is conv2d's input and conv_transpose2d's output."""
    x = mg.zeros(2, 4 if transposed else channels, width, width, requires_grad=True)
    out = OURS[transposed](x, mg.zeros(4, channels, 3, 3), padding=1)
    assert out.grad_fn.name == PATH[transposed] and out.grad_fn.planar == planar


def test_columns_stay_channels_last_on_other_array_modules():
    """CuPy's kernels were measured channels last."""
    assert columns.planar_columns((2, 1, 3, 3, 64, 64), np)
    assert not columns.planar_columns((2, 1, 3, 3, 64, 64), types.ModuleType("cupy"))


def _channels_last(a):
    """The same values as a (N, C, H, W), in channels-last memory: the layout minigan's conv outputs have."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data())
def test_channels_first_and_channels_last_inputs_give_the_same_output_and_gradients(transposed, planar, data):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    x, w = _arrays(data, cfg, bias=False)
    grad = data.draw(float_arrays((cfg.batch, cfg.out_channels) + cfg.output_size, kinks=()))
    results = []
    for layout in (np.ascontiguousarray, _channels_last):
        xt, wt = mg.tensor(layout(x), requires_grad=True), mg.tensor(w, requires_grad=True)
        out = _in_layout(transposed, planar, **cfg.kwargs)(xt, wt)
        out.backward(layout(grad))  # in the layout that the forward chose
        results.append([out.numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for first, last in zip(*results):
        np.testing.assert_allclose(first, last, rtol=1e-12, atol=1e-12)


def _memory_order(a):
    """a's axes longer than 1, from the largest stride to the smallest."""
    return sorted((k for k in range(a.ndim) if a.shape[k] > 1), key=lambda k: -a.strides[k])


def _long_axes(a, order):
    return [k for k in order if a.shape[k] > 1]


@pytest.mark.parametrize("planar", [False, True])
def test_the_products_read_the_columns_without_a_copy(planar):
    cols = columns.im2col(np.ones((2, 3, 9, 9)), (3, 3), (2, 2), (1, 1), (1, 1), planar)
    w = np.ones((4, 3, 3, 3))
    assert np.shares_memory(columns._as_matrix(cols, columns.COLUMN_ROWS, planar), cols)
    assert np.shares_memory(columns._as_matrix(w, columns.WEIGHT_ROWS, planar), w) == planar  # else a small copy


@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data())
def test_im2col_and_col2im_equal_the_reference_in_their_layout(planar, data):
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    geometry = (cfg.kernel_size,) + _geometry(cfg)
    cols = columns.im2col(x, *geometry, planar)
    np.testing.assert_array_equal(cols, conv.im2col(x, *geometry))
    assert _memory_order(cols) == _long_axes(cols, COLUMNS_ORDER[planar])
    back = columns.col2im(cols, cfg.x_shape, *geometry, planar)
    np.testing.assert_allclose(back, conv.col2im(np.ascontiguousarray(cols), cfg.x_shape, *geometry), rtol=1e-12)
    assert _memory_order(back) == _long_axes(back, IMAGE_ORDER[planar])


@pytest.mark.parametrize("transposed", [False, True])
def test_float32_stays_float32(transposed):
    x, w, b = mg.randn(2, 3, 6, 6, requires_grad=True), mg.randn(3, 3, 3, 3, requires_grad=True), mg.zeros(3)
    out = OURS[transposed](x, w, b, stride=2, padding=1)
    out.backward(np.ones(out.shape, np.float32))
    assert out.grad_fn.name == PATH[transposed]
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32
