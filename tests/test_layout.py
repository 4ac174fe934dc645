import math
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import assert_matches_torch

import minigan as mg
import minigan.nn.functional as F
from minigan.nn import layout
from minigan.nn.conv import _matrix, _weight_matrix, col2im, conv_output_size, pair
from minigan.nn.layout import Blocks, copy_channels_last
from minigan.testing import ConvConfig, float_arrays

ANY_DEPTH_AND_WASTE = dict(MIN_DEPTH=1, MAX_WASTE=math.inf)  # Blocks wherever the geometry allows


@st.composite
def block_configs(draw, transposed=False):
    """ConvConfigs whose transposed convolution Blocks can do: each kernel side a multiple (1..3 taps)
    of its stride (1..3), no dilation, no output_padding, and a conv2d input that is whole blocks
    (conv output side 1..5)."""
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    kernel = tuple(s * draw(st.integers(1, 3)) for s in stride)
    padding = tuple(draw(st.integers(0, (k - 1) // 2)) for k in kernel)
    out = tuple(draw(st.integers(1, 5)) for _ in range(2))
    size = tuple((o - 1) * s + k - 2 * p for o, s, k, p in zip(out, stride, kernel, padding))
    batch, c_in, c_out = (draw(st.integers(1, n)) for n in (3, 4, 4))
    cfg = ConvConfig(False, batch, c_in, c_out, size, kernel, stride, padding, 1)
    if transposed:
        cfg = cfg._replace(transposed=True, size=out, in_channels=c_out, out_channels=c_in)
    return cfg


def _blocks_of(cfg):
    """The Blocks that the transposed convolution of cfg (conv2d's input gradient, or
    conv_transpose2d's forward) gets, with the thresholds in force."""
    x_size = cfg.size if cfg.transposed else cfg.output_size
    out_size = cfg.output_size if cfg.transposed else cfg.size
    x_channels = cfg.in_channels if cfg.transposed else cfg.out_channels
    x = np.zeros((cfg.batch, x_channels) + x_size)
    o = cfg.out_channels if cfg.transposed else cfg.in_channels
    return Blocks.fit(x, o, cfg.kernel_size, out_size, pair(cfg.stride), pair(cfg.padding), pair(cfg.dilation))


@given(data=st.data(), chunk_bytes=st.sampled_from([1, 200, layout.CHUNK_BYTES]))
def test_blocks_equal_col2im_of_the_products(data, chunk_bytes):
    # chunk_bytes 1 and 200: one or a few block rows at a time
    cfg = data.draw(block_configs(transposed=True))
    x, w = data.draw(float_arrays(cfg.x_shape, kinks=())), data.draw(float_arrays(cfg.weight_shape, kinks=()))
    stride, padding = pair(cfg.stride), pair(cfg.padding)
    w_matrix = _weight_matrix(w)
    n, _, h, wd = x.shape
    cols = (_matrix(x) @ w_matrix).reshape(n, h, wd, *cfg.kernel_size, -1).transpose(0, 5, 3, 4, 1, 2)
    expected = col2im(cols, (n, cfg.out_channels) + cfg.output_size, cfg.kernel_size, stride, padding, (1, 1))
    with mock.patch.multiple(layout, **ANY_DEPTH_AND_WASTE, CHUNK_BYTES=chunk_bytes):
        y = _blocks_of(cfg).conv_transpose2d(x, w_matrix)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_gradcheck_and_torch_parity_on_blocks(transposed, data, bias):
    cfg = data.draw(block_configs(transposed))
    shapes = [cfg.x_shape, cfg.weight_shape] + ([(cfg.out_channels,)] if bias else [])
    arrays = [data.draw(float_arrays(shape, kinks=())) for shape in shapes]
    ours = F.conv_transpose2d if transposed else F.conv2d
    theirs = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
    with mock.patch.multiple(layout, **ANY_DEPTH_AND_WASTE):
        assert _blocks_of(cfg) is not None
        assert mg.gradcheck(lambda *t: ours(*t, **cfg.kwargs), [mg.tensor(a, requires_grad=True) for a in arrays])
        assert_matches_torch(lambda *t: ours(*t, **cfg.kwargs), lambda *t: theirs(*t, **cfg.kwargs), arrays,
                             rtol=1e-9)


@pytest.mark.parametrize("transposed", [False, True])
def test_the_dcgan_layers_at_32x32_take_blocks_and_match_torch(transposed):
    # conv2d 64->128 at 32x32 (its input gradient) and its mirror (its forward), at the default thresholds
    cfg = ConvConfig(False, 1, 64, 128, (32, 32), (4, 4), 2, 1, 1)
    if transposed:
        cfg = cfg._replace(transposed=True, size=(16, 16), in_channels=128, out_channels=64)
    assert _blocks_of(cfg) is not None
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(cfg.x_shape), rng.standard_normal(cfg.weight_shape) * 0.05]
    ours = F.conv_transpose2d if transposed else F.conv2d
    theirs = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
    assert_matches_torch(lambda *t: ours(*t, **cfg.kwargs), lambda *t: theirs(*t, **cfg.kwargs), arrays, rtol=1e-9)


@pytest.mark.parametrize("change, why", [
    (dict(dilation=2), "dilation"),
    (dict(kernel_size=(3, 3)), "kernel not a multiple of the stride"),
    (dict(size=(33, 33)), "padded input not whole blocks"),
    (dict(in_channels=8), "thin product: 2 2 8 columns"),
    (dict(out_channels=32), "thin product: 32 rows"),
    (dict(size=(16, 16)), "8x8 gradient padded to 9x9: 27% more"),
])
def test_blocks_refuse(change, why):
    cfg = ConvConfig(False, 2, 64, 128, (32, 32), (4, 4), 2, 1, 1)
    assert _blocks_of(cfg) is not None
    cfg = cfg._replace(**change)
    assert min(conv_output_size(cfg.size, cfg.kernel_size, (2, 2), (1, 1), pair(cfg.dilation))) > 0
    assert _blocks_of(cfg) is None, why


@given(data=st.data(), order=st.permutations(range(4)))
def test_copy_channels_last_from_any_layout(data, order):
    shape = tuple(data.draw(st.integers(1, 5)) for _ in range(3)) + (data.draw(st.integers(1, 40)),)
    x = np.ascontiguousarray(data.draw(float_arrays(shape, kinks=())).transpose(order))
    x = x.transpose(np.argsort(order))  # the same values, in memory order `order`
    out = np.empty(shape[:1] + shape[2:] + shape[1:2])
    copy_channels_last(out, x)
    np.testing.assert_array_equal(out, x.transpose(0, 2, 3, 1))
