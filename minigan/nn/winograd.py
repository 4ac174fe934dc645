"""Winograd's F(2x2, 2x2) for convolutions whose kernel is twice their stride (a DCGAN's 4x4 kernels
of stride 2), on NumPy: 9 products where im2col has 16.

On the space-to-depth image of its zero-padded input (blocks of s x s pixels, stacked as s s C
channels), such a convolution is a 2x2 convolution of stride 1. Each 2x2 tile of its output reads a
3x3 tile of blocks d, and Winograd (Lavin and Gray 2015, "Fast Algorithms for Convolutional Neural
Networks") computes it as

    y = A^T [(G w G^T) * (B^T d B)] A,   B^T = [[1, -1, 0], [0, 1, 0], [0, -1, 1]],   G = A = [[1, 0], [1, 1], [0, 1]]

(on one axis: y0 = (d0 - d1) w0 + d1 (w0 + w1), y1 = d1 (w0 + w1) + (d2 - d1) w1). The product *
of the 9 entries, summed over the channels, is 9 matrix products (tiles) x (s s C) by (s s C) x O,
V U with V = B^T d B and U = G w G^T. The input gradient and the weight gradient are the adjoints:
the same 9 products run backwards, gV = gM U^T and gU = V^T gM with gM = A grad A^T, and the
transforms transposed. So all three products of a layer shrink by 16/9, and none of them needs
im2col's columns, 4 times the input; V is 2.25 times.

The transforms are additions and subtractions of whole tiles (no rounding beyond the sums'), done a
few images at a time so that the padded images and the first pass's rows stay in cache.
"""
import numpy as np

from .layout import copy_channels_last, over_batch

MIN_DEPTH = 64  # the products' inner and outer channel counts: thinner ones run far below BLAS's peak


def _along(a, axis, start, stop, step=1):
    """a[..., start:stop:step, ...] on one axis."""
    return a[(slice(None),) * axis + (slice(start, stop, step),)]


# B^T on every tile of a along axis (rows 2t, 2t+1, 2t+2): (d0 - d1, d1, d2 - d1) into out[0..2]
def _differences(a, tiles, axis, out):
    d0, d1, d2 = (_along(a, axis, first, first + 2 * tiles, 2) for first in range(3))
    np.subtract(d0, d1, out=out[0])
    out[1] = d1
    np.subtract(d2, d1, out=out[2])


# B = (B^T)^T: rows 2t, 2t+1, 2t+2 of out get v0, v1 - v0 - v2, v2; tiles t and t+1 share row 2t+2
def _differences_adjoint(v, tiles, axis, out):
    odd = _along(out, axis, 1, 2 * tiles, 2)
    np.subtract(v[1], v[0], out=odd)
    odd -= v[2]
    even = _along(out, axis, 0, 2 * tiles + 1, 2)
    _along(even, axis, 0, tiles)[...] = v[0]
    _along(even, axis, tiles, tiles + 1)[...] = 0
    _along(even, axis, 1, tiles + 1)[...] += v[2]


# G = A on one axis: (x0, x1) -> (x0, x0 + x1, x1)
def _spread(x0, x1, out):
    out[0] = x0
    np.add(x0, x1, out=out[1])
    out[2] = x1


# G^T = A^T on one axis: (m0, m1, m2) -> (m0 + m1, m1 + m2)
def _join(m, out):
    np.add(m[0], m[1], out=out[0])
    np.add(m[1], m[2], out=out[1])


def _spread_both(x):
    """G x G^T on the two leading axes: x (2, 2, ...) -> (3, 3, ...)."""
    rows = np.empty((3,) + x.shape[1:], x.dtype)
    _spread(x[0], x[1], rows)
    out = np.empty((3, 3) + x.shape[2:], x.dtype)
    for row, row_out in zip(rows, out):
        _spread(row[0], row[1], row_out)
    return out


def _join_both(m, out):
    """A^T m A on the two leading axes: m (3, 3, ...) -> out (2, 2, ...)."""
    rows = np.empty((2,) + m.shape[1:], m.dtype)
    _join(m, rows)
    for row, row_out in zip(rows, out):
        _join(row, row_out)
    return out


class Winograd:
    """conv2d of a big image (N, C, H, W) to a small one (N, O, h, w) with a kernel 2s and stride s,
    whose zero-padded input is whole s x s blocks and whose output is whole 2x2 tiles; and the
    adjoints that conv_transpose2d (small to big) and the gradients need."""

    @staticmethod
    def fit(x, big_shape, small_channels, kernel_size, stride, padding, dilation):
        """The Winograd for this geometry, or None where conv.py's im2col is needed or faster: other
        arrays than NumPy's (not measured on CuPy), dilation, a kernel other than twice the stride, a
        padded image that is not whole blocks, an odd output side, or thin products."""
        if not isinstance(x, np.ndarray) or dilation != (1, 1):
            return None
        for n, k, s, p in zip(big_shape[2:], kernel_size, stride, padding):
            if k != 2 * s or (n + 2 * p) % s or ((n + 2 * p) // s - 1) % 2:
                return None
        if min(stride[0] * stride[1] * big_shape[1], small_channels) < MIN_DEPTH:
            return None
        return Winograd(big_shape, stride, padding)

    def __init__(self, big_shape, stride, padding):
        self.n, self.channels, *size = big_shape
        self.size, self.stride, self.padding = tuple(size), stride, padding
        self.blocks = tuple((n + 2 * p) // s for n, s, p in zip(size, stride, padding))  # P, Q
        self.tiles = tuple((b - 1) // 2 for b in self.blocks)  # output tiles: the small image / 2

    # U = G w G^T, w (O, C, 2 sh, 2 sw) as W[a, b] = w[o, c, sh a + di, sw b + dj], (di dj c) x o
    def weights(self, w):
        """The (9, sh sw C, O) matrices U for w in conv2d's layout (conv_transpose2d's weight
        (in, out, kh, kw) maps the small image to the big one, so it is the same array). They are
        transposed views of o (di dj c) memory, which reads w in its own order of o (a copy with o
        last would read w a whole filter apart at every step)."""
        (sh, sw), o = self.stride, w.shape[0]
        w = w.reshape(o, self.channels, 2, sh, 2, sw).transpose(2, 4, 0, 3, 5, 1)  # a b o di dj c
        return _spread_both(w).reshape(9, o, -1).transpose(0, 2, 1)

    # gU = V^T gM, grad_w = G^T gU G, back in w's layout
    def weight_grad(self, v, g):
        """The weight gradient from the (9, N th tw, sh sw C) matrices V and (9, N th tw, O) gM.
        It multiplies out gU transposed, o (di dj c), for the same reason as weights."""
        (sh, sw), o = self.stride, g.shape[-1]
        grad = np.matmul(g.transpose(0, 2, 1), v).reshape(3, 3, o, sh, sw, self.channels)  # u v o di dj c
        grad = _join_both(grad, np.empty((2, 2) + grad.shape[2:], grad.dtype))  # a b o di dj c
        return np.ascontiguousarray(grad.transpose(2, 5, 0, 3, 1, 4)).reshape(o, self.channels, 2 * sh, 2 * sw)

    # V = B^T d B on every tile of 3x3 blocks d of the padded big image
    def input_tiles(self, x):
        """The (9, N th tw, sh sw C) matrices V of the big image x (N, C, H, W), any memory layout."""
        (h, w), (ph, pw), (sh, sw), (bh, bw), (th, tw) = self.size, self.padding, self.stride, self.blocks, self.tiles
        v = np.empty((3, 3, self.n, th, tw, sh, sw, self.channels), x.dtype)  # u v n t t' di dj c

        def transform(batch):
            part = x[batch]
            padded = np.zeros((len(part), bh * sh, bw * sw, self.channels), x.dtype)  # n H W c
            copy_channels_last(padded[:, ph:ph + h, pw:pw + w], part)
            blocks = padded.reshape(len(part), bh, sh, bw, sw, -1).transpose(0, 1, 3, 2, 4, 5)  # n P Q di dj c
            rows = np.empty((3, len(part), th) + blocks.shape[2:], x.dtype)  # u n t Q di dj c
            _differences(blocks, th, 1, rows)
            for u, row in enumerate(rows):
                _differences(row, tw, 2, v[u, :, batch])
        over_batch(np, transform, self.n, 2 * x.itemsize * self.n * bh * sh * bw * sw * self.channels)
        return v.reshape(9, -1, sh * sw * self.channels)

    # grad_d = B gV B^T, tiles that share blocks adding up; returns the big image without its padding
    def input(self, v):
        """The adjoint of input_tiles: (9, N th tw, sh sw C) -> the big image (N, C, H, W), a view of
        channels-last memory."""
        (h, w), (ph, pw), (sh, sw), (bh, bw), (th, tw) = self.size, self.padding, self.stride, self.blocks, self.tiles
        v = v.reshape(3, 3, self.n, th, tw, sh, sw, self.channels)
        padded = np.empty((self.n, bh * sh, bw * sw, self.channels), v.dtype)  # n H W c
        blocks = padded.reshape(self.n, bh, sh, bw, sw, -1).transpose(0, 1, 3, 2, 4, 5)  # n P Q di dj c (a view)

        def transform(batch):
            part = blocks[batch]
            rows = np.empty((3, len(part), th) + part.shape[2:], v.dtype)  # u n t Q di dj c
            for u, row in enumerate(rows):
                _differences_adjoint(v[u, :, batch], tw, 2, row)
            _differences_adjoint(rows, th, 1, part)
        over_batch(np, transform, self.n, 2 * padded.nbytes)
        return padded[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)

    # y = A^T M A on every tile of the small image
    def output(self, m):
        """The small image (N, O, h, w) of the products M (9, N th tw, O), a view of channels-last memory."""
        (th, tw), o = self.tiles, m.shape[-1]
        y = np.empty((self.n, th, 2, tw, 2, o), m.dtype)  # n t i t' j o
        _join_both(m.reshape(3, 3, self.n, th, tw, o), y.transpose(2, 4, 0, 1, 3, 5))
        return y.reshape(self.n, 2 * th, 2 * tw, o).transpose(0, 3, 1, 2)

    # gM = A g A^T, the adjoint of output
    def output_tiles(self, g):
        """The (9, N th tw, O) matrices of the small image g (N, O, h, w), any memory layout."""
        (th, tw), o = self.tiles, g.shape[1]
        g_last = g.transpose(0, 2, 3, 1)
        if not g_last.flags.c_contiguous:
            g_last = np.empty(g_last.shape, g.dtype)
            copy_channels_last(g_last, g)
        tiles = g_last.reshape(self.n, th, 2, tw, 2, o).transpose(2, 4, 0, 1, 3, 5)  # i j n t t' o
        return _spread_both(tiles).reshape(9, -1, o)
