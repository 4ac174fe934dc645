import types
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_parity import assert_matches_torch

import minigan as mg
import minigan.nn.functional as F
from minigan.nn import conv
from minigan.nn.conv import col2im, im2col, pair
from minigan.testing import conv_configs, float_arrays

TORCH = {False: torch.nn.functional.conv2d, True: torch.nn.functional.conv_transpose2d}
OURS = {False: F.conv2d, True: F.conv_transpose2d}


def _arrays(data, cfg, bias):
    shapes = [cfg.x_shape, cfg.weight_shape] + ([(cfg.out_channels,)] if bias else [])
    return [data.draw(float_arrays(shape, kinks=())) for shape in shapes]


def _geometry(cfg):
    return tuple(pair(v) for v in (cfg.stride, cfg.padding, cfg.dilation))


def _columns(planar):
    """Within it, every convolution's columns are planar, or none are."""
    return mock.patch.object(conv, "planar_columns", lambda shape, xp: planar)


def _ours(transposed, planar, **kwargs):
    """conv2d or conv_transpose2d with planar columns or channels-last ones, checking that it takes them."""
    def call(*tensors):
        with _columns(planar):
            out = OURS[transposed](*tensors, **kwargs)
        assert out.grad_fn is None or out.grad_fn.planar == planar
        return out
    return call


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_gradcheck(transposed, planar, data, bias):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(data, cfg, bias)]
    assert mg.gradcheck(_ours(transposed, planar, **cfg.kwargs), tensors)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_matches_torch(transposed, planar, data, bias):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    assert_matches_torch(_ours(transposed, planar, **cfg.kwargs), lambda *t: TORCH[transposed](*t, **cfg.kwargs),
                         _arrays(data, cfg, bias), rtol=1e-9)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("channels, width, planar", [(1, 4, True), (1, 3, False), (5, 16, True), (6, 16, False),
                                                      (64, 32, False)])
def test_columns_are_planar_where_an_output_row_is_longer_than_a_row_of_taps(transposed, channels, width, planar):
    """kw C < OW, with 3x3 kernels: OW is conv2d's output width, conv_transpose2d's input width; the
    columns' image, with C channels, is conv2d's input and conv_transpose2d's output."""
    x = mg.zeros(2, 4 if transposed else channels, width, width, requires_grad=True)
    out = OURS[transposed](x, mg.zeros(4, channels, 3, 3), padding=1)
    assert out.grad_fn.planar == planar


def test_columns_stay_channels_last_on_other_array_modules():
    """CuPy's kernels were measured channels last."""
    assert conv.planar_columns((2, 1, 3, 3, 64, 64), np)
    assert not conv.planar_columns((2, 1, 3, 3, 64, 64), types.ModuleType("cupy"))


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
        out = _ours(transposed, planar, **cfg.kwargs)(xt, wt)
        out.backward(layout(grad))  # in the layout that the forward chose
        results.append([out.numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for first, last in zip(*results):
        np.testing.assert_allclose(first, last, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data())
def test_output_shape_or_clear_error(transposed, data):
    cfg = data.draw(conv_configs(transposed))
    x, w = np.zeros(cfg.x_shape), np.zeros(cfg.weight_shape)
    if cfg.empty:
        with pytest.raises(ValueError, match="empty"):
            OURS[transposed](mg.tensor(x), mg.tensor(w), **cfg.kwargs)
        with pytest.raises(RuntimeError):
            TORCH[transposed](torch.tensor(x), torch.tensor(w), **cfg.kwargs)
    else:
        out = OURS[transposed](mg.tensor(x), mg.tensor(w), **cfg.kwargs)
        assert out.shape == tuple(TORCH[transposed](torch.tensor(x), torch.tensor(w), **cfg.kwargs).shape)
        assert out.shape[2:] == cfg.output_size


@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(planar, data):
    # <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> when the transposed output has x's size
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x, w = (data.draw(float_arrays(s, kinks=())) for s in (cfg.x_shape, cfg.weight_shape))
    y = data.draw(float_arrays((cfg.batch, cfg.out_channels) + cfg.output_size, kinks=()))
    back = cfg._replace(transposed=True, size=cfg.output_size, in_channels=cfg.out_channels,
                        out_channels=cfg.in_channels)
    output_padding = tuple(n - m for n, m in zip(cfg.size, back.output_size))
    forward = _ours(False, planar, **cfg.kwargs)(mg.tensor(x), mg.tensor(w)).numpy()
    adjoint = _ours(True, planar, output_padding=output_padding, **cfg.kwargs)(mg.tensor(y), mg.tensor(w)).numpy()
    np.testing.assert_allclose(np.sum(forward * y), np.sum(x * adjoint), rtol=1e-10, atol=1e-10)


def _memory_order(a):
    """a's axes longer than 1, from the largest stride to the smallest."""
    return sorted((k for k in range(a.ndim) if a.shape[k] > 1), key=lambda k: -a.strides[k])


def _long_axes(a, order):
    return [k for k in order if a.shape[k] > 1]


# memory orders, slowest first: columns (N, C, kh, kw, OH, OW) n oh ow kh kw c or c kh kw n oh ow,
# images (N, C, H, W) n h w c or n c h w
COLUMNS_ORDER = {False: (0, 4, 5, 2, 3, 1), True: (1, 2, 3, 0, 4, 5)}
IMAGE_ORDER = {False: (0, 2, 3, 1), True: (0, 1, 2, 3)}


@pytest.mark.parametrize("planar", [False, True])
def test_the_products_read_the_columns_without_a_copy(planar):
    cols = im2col(np.ones((2, 3, 9, 9)), (3, 3), (2, 2), (1, 1), (1, 1), planar)
    w = np.ones((4, 3, 3, 3))
    assert np.shares_memory(conv._as_matrix(cols, conv.COLUMN_ROWS, planar), cols)
    assert np.shares_memory(conv._as_matrix(w, conv.WEIGHT_ROWS, planar), w) == planar  # else (kh kw c): a small copy


@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data())
def test_im2col_reads_each_window(planar, data):
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    stride, padding, dilation = _geometry(cfg)
    cols = im2col(x, cfg.kernel_size, stride, padding, dilation, planar)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    i, j, oh, ow = np.ix_(*(np.arange(n) for n in cols.shape[2:]))
    rows, columns = oh * stride[0] + i * dilation[0], ow * stride[1] + j * dilation[1]  # kh kw oh ow
    assert cols.shape == cfg.x_shape[:2] + cfg.kernel_size + cfg.output_size
    np.testing.assert_array_equal(cols, padded[:, :, rows, columns])
    assert _memory_order(cols) == _long_axes(cols, COLUMNS_ORDER[planar])


@pytest.mark.parametrize("planar", [False, True])
@given(data=st.data())
def test_col2im_is_the_adjoint_of_im2col(planar, data):
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    cols = data.draw(float_arrays(cfg.x_shape[:2] + cfg.kernel_size + cfg.output_size, kinks=()))
    geometry = (cfg.kernel_size,) + _geometry(cfg)
    back = col2im(cols, cfg.x_shape, *geometry, planar)
    assert back.shape == cfg.x_shape
    assert _memory_order(back) == _long_axes(back, IMAGE_ORDER[planar])
    np.testing.assert_allclose(np.sum(im2col(x, *geometry) * cols), np.sum(x * back), rtol=1e-10, atol=1e-10)


@given(cfg=conv_configs(transposed=True))
def test_output_padding_reaching_stride_and_dilation_is_refused(cfg):
    stride, _, dilation = _geometry(cfg)
    cfg = cfg._replace(output_padding=(max(stride[0], dilation[0]), cfg.output_padding[1]))
    x, w = np.zeros(cfg.x_shape), np.zeros(cfg.weight_shape)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(mg.tensor(x), mg.tensor(w), **cfg.kwargs)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), **cfg.kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda x, w: F.conv2d(x, w[:, :2]), "channels"),
    (lambda x, w: F.conv2d(x[0], w), "4-D"),
    (lambda x, w: F.conv2d(x, w, mg.zeros(5)), "bias"),
    (lambda x, w: F.conv2d(x, w, stride=0), "stride"),
    (lambda x, w: F.conv2d(x, w, padding=(1, 2, 3)), "padding"),
    (lambda x, w: F.conv_transpose2d(x, w), "channels"),
    (lambda x, w: F.conv_transpose2d(x, mg.zeros(3, 2, 3, 3), padding=-1), "padding"),
    (lambda x, w: F.conv_transpose2d(x, mg.zeros(3, 2, 3, 3), stride=2, output_padding=2), "output_padding"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    x, w = mg.zeros(2, 3, 5, 5), mg.zeros(4, 3, 3, 3)
    with pytest.raises(ValueError, match=message):
        call(x, w)


@pytest.mark.parametrize("transposed", [False, True])
def test_float32_stays_float32(transposed):
    x, w, b = mg.randn(2, 3, 6, 6, requires_grad=True), mg.randn(3, 3, 3, 3, requires_grad=True), mg.zeros(3)
    out = OURS[transposed](x, w, b, stride=2, padding=1)
    out.backward(np.ones(out.shape, np.float32))
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32
