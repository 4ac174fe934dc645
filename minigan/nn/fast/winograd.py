"""Winograd's F(2x2, 2x2): replaces nn/conv.py's reference Functions (Conv2d and ConvTranspose2d, with
the Conv2dWeight their backwards call) on NumPy where the kernel is twice the stride (a DCGAN's 4x4
kernels of stride 2) and the products are deep (``Winograd.fit`` says when): 9 products where im2col has 16.

In one dimension, F(2, 2) gives two outputs of a 2-tap correlation, y0 = d0 w0 + d1 w1 and
y1 = d1 w0 + d2 w1, from three inputs with three multiplications instead of four:

    m0 = (d0 - d1) w0,   m1 = d1 (w0 + w1),   m2 = (d2 - d1) w1,   y0 = m0 + m1,   y1 = m1 + m2,

that is y = A^T [(G w) * (B^T d)] with B^T = [[1, -1, 0], [0, 1, 0], [0, -1, 1]] and G = A = [[1, 0], [1, 1],
[0, 1]]. In two dimensions each 2x2 output tile reads a 3x3 input tile d:

    y = A^T [(G w G^T) * (B^T d B)] A       (Lavin and Gray 2015, "Fast Algorithms for Convolutional
                                             Neural Networks")

On the space-to-depth image of its zero-padded input (blocks of s x s pixels, stacked as s s C
channels), a convolution with kernel 2s and stride s is a 2x2 convolution of stride 1, so the d above
are 3x3 tiles of blocks. The product *, summed over the channels, is 9 matrix products (tiles) x (s s C)
by (s s C) x O: M = V U with V = B^T d B and U = G w G^T. The input gradient and the weight gradient are
the adjoints: the same 9 products run backwards, gV = gM U^T and gU = V^T gM with gM = A grad A^T, and
the transforms transposed. So all three products of a layer shrink by 16/9, and none of them needs
im2col's columns, 4 times the input; V is 2.25 times.

The transforms are additions and subtractions of whole tiles (no rounding beyond the sums'), done a
few images at a time so that the padded images and the first pass's rows stay in cache. The methods
are named after the matrices they apply: ``g_w_gt`` (U = G w G^T), ``bt_d_b`` (V = B^T d B),
``at_m_a`` (y = A^T M A), and their adjoints ``b_v_bt``, ``a_g_at`` and ``weight_grad``.
"""
import numpy as np

from ...tensor import Function
from .layout import copy_channels_last, over_batch

MIN_DEPTH = 64  # the products' inner and outer channel counts: thinner ones run far below BLAS's peak


def _along(a, axis, start, stop, step=1):
    """a[..., start:stop:step, ...] on one axis."""
    return a[(slice(None),) * axis + (slice(start, stop, step),)]


# B^T on every tile of a along axis (rows 2t, 2t+1, 2t+2): (d0 - d1, d1, d2 - d1) into out[0..2]
def _bt(a, tiles, axis, out):
    d0, d1, d2 = (_along(a, axis, first, first + 2 * tiles, 2) for first in range(3))
    np.subtract(d0, d1, out=out[0])
    out[1] = d1
    np.subtract(d2, d1, out=out[2])


# B = (B^T)^T: rows 2t, 2t+1, 2t+2 of out get v0, v1 - v0 - v2, v2; tiles t and t+1 share row 2t+2
def _b(v, tiles, axis, out):
    odd = _along(out, axis, 1, 2 * tiles, 2)
    np.subtract(v[1], v[0], out=odd)
    odd -= v[2]
    even = _along(out, axis, 0, 2 * tiles + 1, 2)
    _along(even, axis, 0, tiles)[...] = v[0]
    _along(even, axis, tiles, tiles + 1)[...] = 0
    _along(even, axis, 1, tiles + 1)[...] += v[2]


# G = A on one axis: (x0, x1) -> (x0, x0 + x1, x1)
def _g(x0, x1, out):
    out[0] = x0
    np.add(x0, x1, out=out[1])
    out[2] = x1


# G^T = A^T on one axis: (m0, m1, m2) -> (m0 + m1, m1 + m2)
def _at(m, out):
    np.add(m[0], m[1], out=out[0])
    np.add(m[1], m[2], out=out[1])


def _g_x_gt(x):
    """G x G^T on the two leading axes: x (2, 2, ...) -> (3, 3, ...)."""
    rows = np.empty((3,) + x.shape[1:], x.dtype)
    _g(x[0], x[1], rows)
    out = np.empty((3, 3) + x.shape[2:], x.dtype)
    for row, row_out in zip(rows, out):
        _g(row[0], row[1], row_out)
    return out


def _at_x_a(m, out):
    """A^T m A on the two leading axes: m (3, 3, ...) -> out (2, 2, ...)."""
    rows = np.empty((2,) + m.shape[1:], m.dtype)
    _at(m, rows)
    for row, row_out in zip(rows, out):
        _at(row, row_out)
    return out


class Winograd:
    """conv2d of a big image (N, C, H, W) to a small one (N, O, h, w) with a kernel 2s and stride s,
    whose zero-padded input is whole s x s blocks and whose output is whole 2x2 tiles; and the
    adjoints that conv_transpose2d (small to big) and the gradients need."""

    @staticmethod
    def fit(x, big_shape, small_channels, kernel_size, stride, padding, dilation):
        """The Winograd for this geometry, or None where the columns are needed or faster: other
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
    def g_w_gt(self, w):
        """The (9, sh sw C, O) matrices U for w in conv2d's layout (conv_transpose2d's weight
        (in, out, kh, kw) maps the small image to the big one, so it is the same array). They are
        transposed views of o (di dj c) memory, which reads w in its own order of o (a copy with o
        last would read w a whole filter apart at every step)."""
        (sh, sw), o = self.stride, w.shape[0]
        w = w.reshape(o, self.channels, 2, sh, 2, sw).transpose(2, 4, 0, 3, 5, 1)  # a b o di dj c
        return _g_x_gt(w).reshape(9, o, -1).transpose(0, 2, 1)

    # gU = V^T gM, grad_w = G^T gU G, back in w's layout
    def weight_grad(self, v, g):
        """The weight gradient from the (9, N th tw, sh sw C) matrices V and (9, N th tw, O) gM.
        It multiplies out gU transposed, o (di dj c), for the same reason as g_w_gt."""
        (sh, sw), o = self.stride, g.shape[-1]
        grad = np.matmul(g.transpose(0, 2, 1), v).reshape(3, 3, o, sh, sw, self.channels)  # u v o di dj c
        grad = _at_x_a(grad, np.empty((2, 2) + grad.shape[2:], grad.dtype))  # a b o di dj c
        return np.ascontiguousarray(grad.transpose(2, 5, 0, 3, 1, 4)).reshape(o, self.channels, 2 * sh, 2 * sw)

    # V = B^T d B on every tile of 3x3 blocks d of the padded big image
    def bt_d_b(self, x):
        """The (9, N th tw, sh sw C) matrices V of the big image x (N, C, H, W), any memory layout."""
        (h, w), (ph, pw), (sh, sw), (bh, bw), (th, tw) = self.size, self.padding, self.stride, self.blocks, self.tiles
        v = np.empty((3, 3, self.n, th, tw, sh, sw, self.channels), x.dtype)  # u v n t t' di dj c

        def transform(batch):
            part = x[batch]
            padded = np.zeros((len(part), bh * sh, bw * sw, self.channels), x.dtype)  # n H W c
            copy_channels_last(padded[:, ph:ph + h, pw:pw + w], part)
            blocks = padded.reshape(len(part), bh, sh, bw, sw, -1).transpose(0, 1, 3, 2, 4, 5)  # n P Q di dj c
            rows = np.empty((3, len(part), th) + blocks.shape[2:], x.dtype)  # u n t Q di dj c
            _bt(blocks, th, 1, rows)
            for u, row in enumerate(rows):
                _bt(row, tw, 2, v[u, :, batch])
        over_batch(np, transform, self.n, 2 * x.itemsize * self.n * bh * sh * bw * sw * self.channels)
        return v.reshape(9, -1, sh * sw * self.channels)

    # grad_d = B gV B^T, tiles that share blocks adding up; returns the big image without its padding
    def b_v_bt(self, v):
        """The adjoint of bt_d_b: (9, N th tw, sh sw C) -> the big image (N, C, H, W), a view of
        channels-last memory."""
        (h, w), (ph, pw), (sh, sw), (bh, bw), (th, tw) = self.size, self.padding, self.stride, self.blocks, self.tiles
        v = v.reshape(3, 3, self.n, th, tw, sh, sw, self.channels)
        padded = np.empty((self.n, bh * sh, bw * sw, self.channels), v.dtype)  # n H W c
        blocks = padded.reshape(self.n, bh, sh, bw, sw, -1).transpose(0, 1, 3, 2, 4, 5)  # n P Q di dj c (a view)

        def transform(batch):
            part = blocks[batch]
            rows = np.empty((3, len(part), th) + part.shape[2:], v.dtype)  # u n t Q di dj c
            for u, row in enumerate(rows):
                _b(v[u, :, batch], tw, 2, row)
            _b(rows, th, 1, part)
        over_batch(np, transform, self.n, 2 * padded.nbytes)
        return padded[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)

    # y = A^T M A on every tile of the small image
    def at_m_a(self, m):
        """The small image (N, O, h, w) of the products M (9, N th tw, O), a view of channels-last memory."""
        (th, tw), o = self.tiles, m.shape[-1]
        y = np.empty((self.n, th, 2, tw, 2, o), m.dtype)  # n t i t' j o
        _at_x_a(m.reshape(3, 3, self.n, th, tw, o), y.transpose(2, 4, 0, 1, 3, 5))
        return y.reshape(self.n, 2 * th, 2 * tw, o).transpose(0, 3, 1, 2)

    # gM = A g A^T, the adjoint of at_m_a
    def a_g_at(self, g):
        """The (9, N th tw, O) matrices of the small image g (N, O, h, w), any memory layout."""
        (th, tw), o = self.tiles, g.shape[1]
        g_last = g.transpose(0, 2, 3, 1)
        if not g_last.flags.c_contiguous:
            g_last = np.empty(g_last.shape, g.dtype)
            copy_channels_last(g_last, g)
        tiles = g_last.reshape(self.n, th, 2, tw, 2, o).transpose(2, 4, 0, 1, 3, 5)  # i j n t t' o
        return _g_x_gt(tiles).reshape(9, -1, o)


def _add_bias(y, b):
    if b is not None:
        y += b.reshape(1, -1, 1, 1)  # in place: y is a fresh array
    return y


class WinogradConv2d(Function):
    """conv.Conv2d where Winograd fits: y = A^T (V U) A, with V = B^T x B and U = G w G^T."""

    def forward(self, x, w, b=None, *, plan):
        self.plan, self.has_bias = plan, b is not None
        u, v = plan.g_w_gt(w), plan.bt_d_b(x)
        self.save_for_backward(u, v)
        return _add_bias(plan.at_m_a(np.matmul(v, u)), b)

    # with gM = A grad A^T: grad_x = B (gM U^T) B^T, grad_w = G^T (V^T gM) G, grad_b = sum of grad
    def backward(self, grad):
        u, v = self.saved
        g = self.plan.a_g_at(grad)
        gx = self.plan.b_v_bt(np.matmul(g, u.transpose(0, 2, 1))) if self.needs_input_grad[0] else None
        gw = self.plan.weight_grad(v, g) if self.needs_input_grad[1] else None
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


class WinogradConvTranspose2d(Function):
    """conv.ConvTranspose2d where Winograd fits: y = B (X U^T) B^T, with X = A x A^T and U = G w G^T."""

    def forward(self, x, w, b=None, *, plan):
        self.plan, self.has_bias = plan, b is not None
        u, g = plan.g_w_gt(w), plan.a_g_at(x)
        self.save_for_backward(u, g)
        return _add_bias(plan.b_v_bt(np.matmul(g, u.transpose(0, 2, 1))), b)

    # with V = B^T grad B: grad_x = A^T (V U) A, grad_w = G^T (V^T X) G, grad_b = sum of grad
    def backward(self, grad):
        u, g = self.saved
        v = self.plan.bt_d_b(grad) if any(self.needs_input_grad[:2]) else None
        gx = self.plan.at_m_a(np.matmul(v, u)) if self.needs_input_grad[0] else None
        gw = self.plan.weight_grad(v, g) if self.needs_input_grad[1] else None
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


def conv2d(x, w, size, geometry):
    """The Function and parameters that run conv2d of the array x with w by Winograd, or None where it does
    not fit."""
    plan = Winograd.fit(x, x.shape, len(w), w.shape[2:], geometry["stride"],
                        geometry["padding"], geometry["dilation"])
    return plan and (WinogradConv2d, dict(plan=plan))


def conv_transpose2d(x, w, size, geometry):
    """The Function and parameters that run conv_transpose2d of x with w by Winograd, or None."""
    plan = Winograd.fit(x, (len(x), w.shape[1]) + tuple(size), len(w), w.shape[2:],
                        geometry["stride"], geometry["padding"], geometry["dilation"])
    return plan and (WinogradConvTranspose2d, dict(plan=plan))
