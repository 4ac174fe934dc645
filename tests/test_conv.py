"""nn/conv.py, the reference: under reference_mode, so that what these tests check is the code a
student reads (the fast paths are held to it in test_columns.py and test_winograd.py)."""
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
REFERENCE = {False: "Conv2d", True: "ConvTranspose2d"}


@pytest.fixture(autouse=True)
def reference():
    with mg.reference_mode():
        yield


def _arrays(data, cfg, bias):
    shapes = [cfg.x_shape, cfg.weight_shape] + ([(cfg.out_channels,)] if bias else [])
    return [data.draw(float_arrays(shape, kinks=())) for shape in shapes]


def _geometry(cfg):
    return tuple(pair(v) for v in (cfg.stride, cfg.padding, cfg.dilation))


def _ours(transposed, **kwargs):
    """conv2d or conv_transpose2d, checking that it runs the reference Function."""
    def call(*tensors):
        out = OURS[transposed](*tensors, **kwargs)
        assert out.grad_fn is None or out.grad_fn.name == REFERENCE[transposed]
        return out
    return call


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_gradcheck(transposed, data, bias):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(data, cfg, bias)]
    assert mg.gradcheck(_ours(transposed, **cfg.kwargs), tensors)


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_matches_torch(transposed, data, bias):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    assert_matches_torch(_ours(transposed, **cfg.kwargs), lambda *t: TORCH[transposed](*t, **cfg.kwargs),
                         _arrays(data, cfg, bias), rtol=1e-9)


@given(data=st.data())
def test_conv2d_weight_matches_torch_and_gradcheck(data):
    """The weight gradient as an op of its own, which conv2d's and conv_transpose2d's backwards call."""
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    g = data.draw(float_arrays((cfg.batch, cfg.out_channels) + cfg.output_size, kinks=()))

    def ours(x, g):
        return conv.conv2d_weight(x, cfg.weight_shape, g, **cfg.kwargs)

    def theirs(x, g):
        return torch.nn.grad.conv2d_weight(x, cfg.weight_shape, g, **cfg.kwargs)
    assert_matches_torch(ours, theirs, [x, g], rtol=1e-9)
    assert mg.gradcheck(ours, [mg.tensor(x, requires_grad=True), mg.tensor(g, requires_grad=True)])


@pytest.mark.parametrize("transposed", [False, True])
def test_no_gradient_is_computed_that_nothing_needs(transposed):
    """A backward asks for the input gradient (a whole transposed convolution or convolution) only when the
    input requires grad, and records whether there is a bias when it sees one."""
    x, w = mg.randn(2, 3, 6, 6), mg.randn(3, 3, 3, 3, requires_grad=True)
    out = OURS[transposed](x, w, mg.zeros(3, requires_grad=True), stride=2, padding=1)
    assert out.grad_fn.has_bias
    called = []
    other = conv.Conv2d if transposed else conv.ConvTranspose2d
    original = other.call.__func__
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(other, "call", classmethod(lambda cls, *a, **k: called.append(a) or original(cls, *a, **k)))
        out.sum().backward()
    assert called == [] and x.grad is None and w.grad is not None


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


@given(data=st.data())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(data):
    # <conv2d(x, w), y> = <x, conv_transpose2d(y, w)> when the transposed output has x's size
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x, w = (data.draw(float_arrays(s, kinks=())) for s in (cfg.x_shape, cfg.weight_shape))
    y = data.draw(float_arrays((cfg.batch, cfg.out_channels) + cfg.output_size, kinks=()))
    back = cfg._replace(transposed=True, size=cfg.output_size, in_channels=cfg.out_channels,
                        out_channels=cfg.in_channels)
    output_padding = tuple(n - m for n, m in zip(cfg.size, back.output_size))
    forward = _ours(False, **cfg.kwargs)(mg.tensor(x), mg.tensor(w)).numpy()
    adjoint = _ours(True, output_padding=output_padding, **cfg.kwargs)(mg.tensor(y), mg.tensor(w)).numpy()
    np.testing.assert_allclose(np.sum(forward * y), np.sum(x * adjoint), rtol=1e-10, atol=1e-10)


@given(data=st.data())
def test_im2col_reads_each_window(data):
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    stride, padding, dilation = _geometry(cfg)
    cols = im2col(x, cfg.kernel_size, stride, padding, dilation)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    i, j, oh, ow = np.ix_(*(np.arange(n) for n in cols.shape[2:]))
    rows, columns = oh * stride[0] + i * dilation[0], ow * stride[1] + j * dilation[1]  # kh kw oh ow
    assert cols.shape == cfg.x_shape[:2] + cfg.kernel_size + cfg.output_size
    np.testing.assert_array_equal(cols, padded[:, :, rows, columns])


@given(data=st.data())
def test_col2im_is_the_adjoint_of_im2col(data):
    cfg = data.draw(conv_configs())
    assume(not cfg.empty)
    x = data.draw(float_arrays(cfg.x_shape, kinks=()))
    cols = data.draw(float_arrays(cfg.x_shape[:2] + cfg.kernel_size + cfg.output_size, kinks=()))
    geometry = (cfg.kernel_size,) + _geometry(cfg)
    back = col2im(cols, cfg.x_shape, *geometry)
    assert back.shape == cfg.x_shape
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
