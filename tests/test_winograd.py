from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from reference_parity import assert_matches_reference
from torch_parity import assert_matches_torch, check_op

import minigan as mg
import minigan.nn.functional as F
from minigan.nn.fast import layout, winograd
from minigan.nn.conv import pair
from minigan.nn.fast.winograd import Winograd
from minigan.testing import ConvConfig, float_arrays

pytestmark = pytest.mark.usefixtures("fast_paths")

OURS = {False: F.conv2d, True: F.conv_transpose2d}
TORCH = {False: torch.nn.functional.conv2d, True: torch.nn.functional.conv_transpose2d}
CHUNKS = st.sampled_from([1, 200, layout.CHUNK_BYTES])  # 1 and 200 bytes: an image or a few at a time


@st.composite
def winograd_configs(draw, transposed=False):
    """ConvConfigs that Winograd can do (at any depth): on each axis stride s 1..3, kernel 2s,
    padding 0..2, and a conv2d output side of 2, 4 or 6 (1..3 tiles) from a whole number of blocks."""
    stride, padding, size, small = [], [], [], []
    for _ in range(2):
        s, m = draw(st.integers(1, 3)), 2 * draw(st.integers(1, 3))
        p = draw(st.integers(0, min(2, ((m + 1) * s - 1) // 2)))  # at least one input pixel
        stride, padding, size, small = stride + [s], padding + [p], size + [(m + 1) * s - 2 * p], small + [m]
    kernel = tuple(2 * s for s in stride)
    batch, big, little = (draw(st.integers(1, n)) for n in (3, 4, 4))
    if transposed:
        return ConvConfig(True, batch, little, big, tuple(small), kernel, tuple(stride), tuple(padding), 1)
    return ConvConfig(False, batch, big, little, tuple(size), kernel, tuple(stride), tuple(padding), 1)


def _plan(cfg):
    """The Winograd that cfg's call gets, with the thresholds in force, or None."""
    big = cfg.output_size if cfg.transposed else cfg.size
    small_channels = cfg.in_channels if cfg.transposed else cfg.out_channels
    big_shape = (cfg.batch, cfg.weight_shape[1]) + tuple(big)
    return Winograd.fit(np.zeros(0), big_shape, small_channels, cfg.kernel_size, pair(cfg.stride), pair(cfg.padding),
                        pair(cfg.dilation))


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data(), bias=st.booleans(), chunk_bytes=CHUNKS)
def test_gradcheck_torch_parity_and_float32(transposed, data, bias, chunk_bytes):
    cfg = data.draw(winograd_configs(transposed))
    shapes = [cfg.x_shape, cfg.weight_shape] + ([(cfg.out_channels,)] if bias else [])
    arrays = [data.draw(float_arrays(shape, kinks=())) for shape in shapes]
    with mock.patch.object(winograd, "MIN_DEPTH", 1), mock.patch.object(layout, "CHUNK_BYTES", chunk_bytes):
        assert _plan(cfg) is not None
        out = OURS[transposed](*(mg.tensor(a, requires_grad=True) for a in arrays), **cfg.kwargs)
        assert type(out.grad_fn).__name__ == ("WinogradConvTranspose2d" if transposed else "WinogradConv2d")
        check_op(lambda *t: OURS[transposed](*t, **cfg.kwargs), lambda *t: TORCH[transposed](*t, **cfg.kwargs),
                 arrays, rtol=1e-9, second_order=False)  # the fast convolutions are not twice differentiable yet
        assert_matches_reference(lambda *t: OURS[transposed](*t, **cfg.kwargs), arrays,
                                 "WinogradConvTranspose2d" if transposed else "WinogradConv2d")


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data())
def test_channels_first_and_channels_last_give_the_same_output_and_gradients(transposed, data):
    cfg = data.draw(winograd_configs(transposed))
    x, w = (data.draw(float_arrays(shape, kinks=())) for shape in (cfg.x_shape, cfg.weight_shape))
    grad = data.draw(float_arrays((cfg.batch, cfg.out_channels) + cfg.output_size, kinks=()))
    results = []
    with mock.patch.object(winograd, "MIN_DEPTH", 1):
        for memory in (np.ascontiguousarray, _channels_last):
            xt, wt = mg.tensor(memory(x), requires_grad=True), mg.tensor(w, requires_grad=True)
            out = OURS[transposed](xt, wt, **cfg.kwargs)
            out.backward(memory(grad))
            results.append([out.numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for first, last in zip(*results):
        np.testing.assert_allclose(first, last, rtol=1e-12, atol=1e-12)


@given(data=st.data(), chunk_bytes=CHUNKS)
def test_each_transform_is_the_adjoint_of_its_partner(data, chunk_bytes):
    # <T a, b> = <a, T* b> for (bt_d_b, b_v_bt), (at_m_a, a_g_at), and g_w_gt with weight_grad,
    # which takes the gradient of U as the product V^T gM
    cfg = data.draw(winograd_configs())
    plan = Winograd((cfg.batch, cfg.in_channels) + cfg.size, pair(cfg.stride), pair(cfg.padding))
    o, (th, tw), (sh, sw) = cfg.out_channels, plan.tiles, plan.stride
    tiles, depth = cfg.batch * th * tw, sh * sw * cfg.in_channels
    v, g = data.draw(float_arrays((9, tiles, depth), kinks=())), data.draw(float_arrays((9, tiles, o), kinks=()))
    x, w = data.draw(float_arrays(cfg.x_shape, kinks=())), data.draw(float_arrays(cfg.weight_shape, kinks=()))
    y = data.draw(float_arrays((cfg.batch, o) + cfg.output_size, kinks=()))
    with mock.patch.object(layout, "CHUNK_BYTES", chunk_bytes):
        for left, right in [((plan.bt_d_b(x), v), (x, plan.b_v_bt(v))),
                            ((plan.at_m_a(g), y), (g, plan.a_g_at(y))),
                            ((plan.g_w_gt(w), np.matmul(v.transpose(0, 2, 1), g)), (w, plan.weight_grad(v, g)))]:
            np.testing.assert_allclose(np.vdot(*left), np.vdot(*right), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("c_big, c_small, size", [(64, 128, 32), (256, 512, 8)])
def test_the_dcgan_layers_take_winograd_and_match_torch(transposed, c_big, c_small, size):
    # at the default thresholds: conv2d c_big -> c_small at size x size, and its mirror
    cfg = ConvConfig(False, 1, c_big, c_small, (size, size), (4, 4), 2, 1, 1)
    if transposed:
        cfg = cfg._replace(transposed=True, size=(size // 2,) * 2, in_channels=c_small, out_channels=c_big)
    assert _plan(cfg) is not None
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(cfg.x_shape), rng.standard_normal(cfg.weight_shape) * 0.05]
    assert_matches_torch(lambda *t: OURS[transposed](*t, **cfg.kwargs),
                         lambda *t: TORCH[transposed](*t, **cfg.kwargs), arrays, rtol=1e-9)


@pytest.mark.parametrize("change, why", [
    (dict(dilation=2), "dilation"),
    (dict(kernel_size=(3, 3)), "kernel not twice the stride"),
    (dict(kernel_size=(2, 2)), "kernel not twice the stride"),
    (dict(size=(33, 33)), "padded input not whole blocks"),
    (dict(size=(30, 30)), "odd output side: 15"),
    (dict(in_channels=8), "thin product: 2 2 8 columns"),
    (dict(out_channels=32), "thin product: 32 rows"),
])
def test_winograd_refuses(change, why):
    cfg = ConvConfig(False, 2, 64, 128, (32, 32), (4, 4), 2, 1, 1)
    assert _plan(cfg) is not None
    cfg = cfg._replace(**change)
    assert min(cfg.output_size) > 0
    assert _plan(cfg) is None, why
    x, w = mg.zeros(*cfg.x_shape, requires_grad=True), mg.zeros(*cfg.weight_shape)
    assert F.conv2d(x, w, **cfg.kwargs).grad_fn.name == "ColumnsConv2d"
