"""The column fast path of conv2d and conv_transpose2d: replaces nn/conv.py's reference Functions
(``Conv2d``, ``ConvTranspose2d`` and the ``Conv2dWeight`` their backwards call) on every call that
``fast.plan`` does not give to Winograd, on NumPy and on CuPy (where im2col and col2im are CUDA kernels).

The math is the reference's: y = cols(x) W^T, its input gradient col2im(grad W), its weight gradient
grad^T cols(x). What differs is memory. The reference's columns are channels first, and every
product transposes them. Here the columns are laid out as the product reads them:

- channels last, the matrix (n oh ow) x (kh kw c) in memory, so that im2col's copies and col2im's adds
  run along the channels, and each product is one BLAS call over the whole batch. Outputs are
  (N, C, H, W) views of channels-last memory, which the next layer reads without a copy.
- planar, (c kh kw) x (n oh ow), where a row of taps (kw c numbers) is shorter than an output row
  (a first layer's 1 or 3 channels): copies and adds then run along the output rows (``planar_columns``).

On NumPy, im2col and col2im go through the batch in chunks of about layout.CHUNK_BYTES (a core's L2
cache), so that a chunk's padded images stay in cache while all kh*kw taps read or add them, and the
columns that col2im reads once live in one reused scratch buffer (``_transient``). The forward saves
the columns for the weight gradient rather than recomputing them.
"""
import math
import threading

import numpy as np

from ...backend import array_module, kernel
from ...tensor import Function
from .. import conv
from .layout import copy_channels_last, in_memory_order, over_batch

# Memory orders, slowest axis first, of images (N, C, H, W) and of columns (N, C, kh, kw, OH, OW),
# channels last (planar False) or planar (True); the taps (c, kh, kw) in the columns' memory order,
# which the matrices of columns (rows n oh ow) and of weights (A, C, kh, kw) (rows a) take.
IMAGE_ORDER = {False: (0, 2, 3, 1), True: (0, 1, 2, 3)}
COLUMNS_ORDER = {False: (0, 4, 5, 2, 3, 1), True: (1, 2, 3, 0, 4, 5)}
TAPS = {planar: tuple(k for k in order if k in (1, 2, 3)) for planar, order in COLUMNS_ORDER.items()}
COLUMN_ROWS, WEIGHT_ROWS = (0, 4, 5), (0,)


def planar_columns(shape, xp):
    """Whether columns of ``shape`` (N, C, kh, kw, OH, OW) are planar: on NumPy, where an output row,
    which planar copies and adds run along, is longer than a row of taps (kw C numbers), the longest
    run that channels-last ones have. CuPy keeps channels last, the layout its kernels were measured in."""
    return xp is np and shape[3] * shape[1] < shape[5]


@kernel
def im2col(x, kernel_size, stride, padding, dilation, planar=False):
    """conv.im2col's columns (N, C, kh, kw, OH, OW), laid out in memory channels last (n oh ow kh kw c)
    or, when ``planar``, as (c kh kw n oh ow): a transposed view. The CUDA kernel lays them out the same way."""
    xp = array_module(x)
    (kh, kw), (ph, pw) = kernel_size, padding
    n, c, h, w = x.shape
    oh, ow = conv.conv_output_size((h, w), kernel_size, stride, padding, dilation)
    cols = in_memory_order(xp.empty, (n, c, kh, kw, oh, ow), x.dtype, COLUMNS_ORDER[planar])

    def copy(batch):  # pad, then one strided copy, in the columns' order, reads every window
        part = x[batch]
        padded = in_memory_order(xp.zeros, (len(part), c, h + 2 * ph, w + 2 * pw), x.dtype, IMAGE_ORDER[planar])
        copy_channels_last(padded[:, :, ph:ph + h, pw:pw + w].transpose(0, 2, 3, 1), part)
        sn, sc, sy, sx = padded.strides
        (sh, sw), (dh, dw) = stride, dilation
        cols[batch] = xp.lib.stride_tricks.as_strided(  # a view: each element read by every window holding it
            padded, (len(part), c, kh, kw, oh, ow), (sn, sc, sy * dh, sx * dw, sy * sh, sx * sw))
    over_batch(xp, copy, n, n * c * (h + 2 * ph) * (w + 2 * pw) * x.itemsize)
    return cols


@kernel
def col2im(cols, input_shape, kernel_size, stride, padding, dilation, planar=False):
    """conv.col2im for columns of any strides (fastest the channels, or for ``planar`` the output rows,
    as im2col lays them out). Returns a view of channels-last memory, or of channels-first for ``planar``.

    Channels last and without dilation, taps i..i+sh-1 write distinct, neighbouring rows (and so
    along w): such a block of taps adds in one call, reading runs of sw*c numbers rather than c.
    (Planar, one tap at a time reads runs of OW.) Every position still receives its taps in the
    order (i, j), as with one tap at a time. Where the taps i < sh, j < sw write every position of
    the first sh*oh rows and sw*ow columns once, they are copied in rather than added to zeros, and
    only the rest is zeroed."""
    xp = array_module(cols)
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh, ow = cols.shape[-2:]
    bh, bw = (1, 1) if planar else (sh if dh == 1 else 1, sw if dw == 1 else 1)  # taps per block
    first_fills = (dh == 1 or sh == 1) and kh >= sh and (dw == 1 or sw == 1) and kw >= sw
    # with a stride's slack, so that the rows of every block reshape to (oh, sh)
    shape = (n, c, h + 2 * ph + sh - 1, w + 2 * pw + sw - 1)
    padded = in_memory_order(xp.empty if first_fills else xp.zeros, shape, cols.dtype, IMAGE_ORDER[planar])

    def add_taps(batch):
        if first_fills:
            padded[batch, :, sh * oh:] = 0
            padded[batch, :, :sh * oh, sw * ow:] = 0
        for i in range(0, kh, bh):
            for j in range(0, kw, bw):  # the block of taps i' = i..i+ti-1, j' = j..j+tj-1:
                # padded[n, c, oh sh + i' dh, ow sw + j' dw] += cols[n, c, i', j', oh, ow]
                ti, tj = min(bh, kh - i), min(bw, kw - j)
                block = padded[batch, :, i * dh:i * dh + sh * oh, j * dw:j * dw + sw * ow]
                block = block.reshape(len(block), c, oh, sh, ow, sw)[:, :, :, :ti, :, :tj]  # n c oh i' ow j'
                taps = cols[batch, :, i:i + ti, j:j + tj].transpose(0, 1, 4, 2, 5, 3)
                if first_fills and i < sh and j < sw:
                    block[...] = taps
                else:
                    block += taps
    over_batch(xp, add_taps, n, padded.nbytes)
    return padded[:, :, ph:ph + h, pw:pw + w]  # n c h w (a view)


_scratch = threading.local()  # one buffer per thread for the columns that col2im reads once


def _transient(xp, shape, dtype):
    """An uninitialised array for columns that are dead once col2im has read them. On NumPy, a view
    of one buffer per thread, kept and reused: a fresh array of tens of megabytes costs its page
    faults on every call, several percent of a DCGAN step. (CuPy's memory pool does this itself.)"""
    if xp is not np:
        return xp.empty(shape, dtype)
    size = math.prod(shape)
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = _scratch.buffer = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


def _matrix(a):
    """a (N, C, H, W) as the matrix (n h w) x c, for a product. Channels-last memory gives a view (or
    a copy in runs of c). Channels-first memory is copied to c x (n h w) instead, in runs of h w,
    and returned transposed (a view that BLAS reads as it is): moving the channels last would read
    them a stride of h w apart, several times slower (4 KiB apart, for 32x32 images, 12 times)."""
    xp, c = array_module(a), a.shape[1]
    if a.flags.c_contiguous and c > 1:
        return xp.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(c, -1).T  # c n h w, transposed
    return xp.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(-1, c)  # n h w c


def _as_matrix(a, rows, planar):
    """Columns or weights ``a`` as a matrix: the axes ``rows`` merged into its rows, the taps into
    its columns, in the order TAPS[planar]. A view of columns that im2col laid out (not of a crop)."""
    return a.transpose(rows + TAPS[planar]).reshape(math.prod(a.shape[k] for k in rows), -1)


def _from_matrix(m, shape, rows, planar):
    """The inverse of _as_matrix: the matrix m back to an array of ``shape`` (a view)."""
    axes = rows + TAPS[planar]
    return m.reshape(tuple(shape[k] for k in axes)).transpose(tuple(int(k) for k in np.argsort(axes)))


def _column_matrix(x, kernel_size, stride, padding, dilation, planar, output_size=None):
    """im2col's columns of x as the matrix (n oh ow) x (taps), a view, and their (N, OH, OW).
    ``output_size`` keeps only the first (OH, OW) positions (a transposed convolution's input
    gradient when its output reaches past the last stride)."""
    cols = im2col(x, kernel_size, stride, padding, dilation, planar)  # n c kh kw oh ow
    if output_size is not None:
        cols = cols[..., :output_size[0], :output_size[1]]
    return _as_matrix(cols, COLUMN_ROWS, planar), (cols.shape[0], *cols.shape[4:])


def _conv2d_array(cols, positions, w_matrix):
    """conv.Conv2d's product: y = cols W^T for the column matrix of (N, OH, OW) ``positions`` and w (O, C, kh,
    kw) given as w_matrix = _as_matrix(w, WEIGHT_ROWS, planar). Returns y (N, O, OH, OW), a view."""
    y = (cols @ w_matrix.T).reshape(*positions, len(w_matrix))  # n oh ow o
    return y.transpose(0, 3, 1, 2)  # n o oh ow


def _conv_transpose2d_array(x_shape, x_matrix, w_matrix, kernel_size, output_size, stride, padding, dilation,
                            planar):
    """conv.ConvTranspose2d's forward on x of shape x_shape (N, C, H, W), given as x_matrix = _matrix(x),
    with w (C, O, kh, kw) given as w_matrix = _as_matrix(w, WEIGHT_ROWS, planar): y = col2im(x w), of shape
    (N, O) + output_size. Planar, the product is laid out (taps) x (n h w)."""
    n, _, h, wd = x_shape
    xp, (rows, taps) = array_module(x_matrix), (len(x_matrix), w_matrix.shape[1])
    dtype = xp.result_type(x_matrix, w_matrix)
    shape = (n, taps // math.prod(kernel_size), *kernel_size, h, wd)  # n o kh kw h w
    if planar:  # each tap's plane a row of the product's memory
        cols = xp.matmul(w_matrix.T, x_matrix.T, out=_transient(xp, (taps, rows), dtype)).T
    else:
        cols = xp.matmul(x_matrix, w_matrix, out=_transient(xp, (rows, taps), dtype))
    cols = _from_matrix(cols, shape, COLUMN_ROWS, planar)  # n o kh kw h w (a view)
    return col2im(cols, shape[:2] + tuple(output_size), kernel_size, stride, padding, dilation, planar)


def _weight_grad(a_matrix, cols, shape, planar):
    """conv.Conv2dWeight's forward: grad_w[a, b, i, j] = sum_r a_matrix[r, a] cols[r, (taps)] over the
    rows r = (n, l), one product."""
    grad = _from_matrix(a_matrix.T @ cols, shape, WEIGHT_ROWS, planar)
    return array_module(grad).ascontiguousarray(grad)  # a b kh kw


def _add_bias(y, b):
    if b is not None:
        y += b.reshape(1, -1, 1, 1)  # in place: y is a fresh array
    return y


class ColumnsConv2d(Function):
    """conv.Conv2d with columns laid out for the products; ``planar`` records which layout, and
    ``keep_columns`` whether the weight gradient reads the forward's columns (kept until backward) or
    makes them again from x (``keep_columns_for``)."""

    def forward(self, x, w, b=None, *, stride, padding, dilation, planar, keep_columns):
        self.geometry, self.planar, self.has_bias = (stride, padding, dilation), planar, b is not None
        self.input_size, self.weight_shape, self.keep_columns = x.shape[2:], w.shape, keep_columns
        w_matrix = _as_matrix(w, WEIGHT_ROWS, planar)
        cols, positions = _column_matrix(x, w.shape[2:], *self.geometry, planar)
        self.save_for_backward(w_matrix, cols if keep_columns and self.needs_input_grad[1] else x)
        return _add_bias(_conv2d_array(cols, positions, w_matrix), b)

    # y = cols(x) W^T + b: grad_x = col2im(grad W), grad_W = grad^T cols, grad_b = sum of grad over n, oh, ow
    def backward(self, grad):
        w_matrix, cols_or_x = self.saved
        g = _matrix(grad)  # (n oh ow) o
        gx = (_conv_transpose2d_array(grad.shape, g, w_matrix, self.weight_shape[2:], self.input_size, *self.geometry,
                                      self.planar) if self.needs_input_grad[0] else None)
        gw = None
        if self.needs_input_grad[1]:
            cols = cols_or_x if self.keep_columns else _column_matrix(cols_or_x, self.weight_shape[2:],
                                                                       *self.geometry, self.planar)[0]
            gw = _weight_grad(g, cols, self.weight_shape, self.planar)
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


class ColumnsConvTranspose2d(Function):
    """conv.ConvTranspose2d with columns laid out for the products; ``planar`` records which layout."""

    def forward(self, x, w, b=None, *, stride, padding, dilation, output_size, planar):
        self.geometry, self.planar, self.has_bias = (stride, padding, dilation), planar, b is not None
        self.input_size, self.weight_shape = x.shape[2:], w.shape
        x_matrix, w_matrix = _matrix(x), _as_matrix(w, WEIGHT_ROWS, planar)  # (n h w) c and c (taps)
        self.save_for_backward(w_matrix, x_matrix)
        y = _conv_transpose2d_array(x.shape, x_matrix, w_matrix, w.shape[2:], output_size, *self.geometry, planar)
        return _add_bias(y, b)

    # y = col2im(x W) + b: grad_x = cols(grad) W^T, grad_W = x^T cols(grad), grad_b = sum of grad over n, h, w
    def backward(self, grad):
        w_matrix, x_matrix = self.saved
        gx = gw = None
        if any(self.needs_input_grad[:2]):
            cols, positions = _column_matrix(grad, self.weight_shape[2:], *self.geometry, self.planar,
                                             output_size=self.input_size)
            gx = _conv2d_array(cols, positions, w_matrix) if self.needs_input_grad[0] else None
            gw = _weight_grad(x_matrix, cols, self.weight_shape, self.planar) if self.needs_input_grad[1] else None
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


def keep_columns_for(xp):
    """Whether conv2d keeps its columns from forward to backward, for the weight gradient: on NumPy, where
    memory is plentiful and im2col takes milliseconds; not on CuPy, where the columns (4 times a DCGAN
    layer's input, and a step holds two discriminator graphs at once) would be most of the step's peak
    memory, and im2col is a kernel of tens of microseconds that backward runs again."""
    return xp is np


def conv2d(x, w, size, geometry):
    """The Function and parameters that run conv2d of x with w (output ``size``) on columns."""
    xp = array_module(x)
    return ColumnsConv2d, dict(geometry, planar=planar_columns(x.shape[:2] + w.shape[2:] + size, xp),
                               keep_columns=keep_columns_for(xp))


def conv_transpose2d(x, w, size, geometry):
    """The Function and parameters that run conv_transpose2d of x with w on columns."""
    shape = (len(x),) + w.shape[1:] + x.shape[2:]  # the columns' (N, O, kh, kw, H, W)
    return ColumnsConvTranspose2d, dict(geometry, planar=planar_columns(shape, array_module(x)))
