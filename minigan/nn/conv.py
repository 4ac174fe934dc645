"""2-D convolution and its adjoint, the transposed convolution, on one im2col/col2im pair.

conv2d reads every receptive field of the (zero-padded) input into a column (``im2col``) and
multiplies the columns by the weight matrix: y = cols W^T. Its input gradient is grad W put back
where each column came from (``col2im``, overlapping taps adding up): a transposed convolution.
conv_transpose2d is that map run forwards, so its input gradient is a convolution. Both
Functions' forward and backward call the two array-level helpers ``_conv2d_array`` and
``_conv_transpose2d_array``.

Layout, for speed: the NumPy im2col and col2im keep the channels last in memory, so every copy
and every tap's add runs along the channel axis (long) rather than along a row of a small
image, and the columns are the matrix (n oh ow) x (kh kw c): each product is one BLAS call over
all samples. Outputs are (N, C, H, W) views of channels-last memory, which the next layer's
im2col and the gradients read without a copy. For a thin image (a first layer's 1 or 3 channels)
those runs are a few numbers long, so its columns are planar instead, (c kh kw) x (n oh ow) in
memory, and their copies and adds run along output rows (``planar_columns``).

On NumPy, im2col and col2im go through the batch in chunks of about layout.CHUNK_BYTES (a core's
L2 cache), so that a chunk's padded images stay in cache while all kh*kw taps read or add them.

Where the kernel is twice the stride (a DCGAN's 4x4 kernels of stride 2) and the products are deep
enough, conv2d and conv_transpose2d run instead as ``WinogradConv2d`` and ``WinogradConvTranspose2d``:
Winograd's F(2x2, 2x2) on the space-to-depth image (nn/winograd.py), 9 products where im2col has 16,
in all three of a layer's products.
"""
import math
import threading

import numpy as np

from ..backend import array_module, kernel
from ..tensor import Function
from .layout import copy_channels_last, in_memory_order, over_batch
from .winograd import Winograd

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


def pair(value, name="argument"):
    """An int or a pair of ints, as the (h, w) pair."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return values


def conv_output_size(size, kernel_size, stride, padding, dilation):
    """Output (h, w) of conv2d: floor((n + 2p - d (k - 1) - 1) / s) + 1 on each axis."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel_size, stride, padding, dilation))


def conv_transpose_output_size(size, kernel_size, stride, padding, output_padding, dilation):
    """Output (h, w) of conv_transpose2d: (n - 1) s - 2p + d (k - 1) + output_padding + 1 on each axis."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(size, kernel_size, stride, padding, output_padding, dilation))


@kernel
def im2col(x, kernel_size, stride, padding, dilation, planar=False):
    """The receptive fields of x (N, C, H, W) as columns of shape (N, C, kh, kw, OH, OW):
    cols[n, c, i, j, oh, ow] = x_padded[n, c, oh sh + i dh, ow sw + j dw].

    This NumPy version lays them out in memory channels last (n oh ow kh kw c) or, when ``planar``,
    as (c kh kw n oh ow), and returns a transposed view; the CUDA kernel lays them out the same way.
    conv2d takes either."""
    xp = array_module(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = conv_output_size((h, w), kernel_size, stride, padding, dilation)
    cols = in_memory_order(xp.empty, (n, c, kh, kw, oh, ow), x.dtype, COLUMNS_ORDER[planar])

    def copy(batch):  # pad, then one strided copy, in the columns' order, reads every window
        part = x[batch]
        padded = in_memory_order(xp.zeros, (len(part), c, h + 2 * ph, w + 2 * pw), x.dtype, IMAGE_ORDER[planar])
        copy_channels_last(padded[:, :, ph:ph + h, pw:pw + w].transpose(0, 2, 3, 1), part)
        sn, sc, sy, sx = padded.strides
        cols[batch] = xp.lib.stride_tricks.as_strided(  # a view: each element read by every window holding it
            padded, (len(part), c, kh, kw, oh, ow), (sn, sc, sy * dh, sx * dw, sy * sh, sx * sw))
    over_batch(xp, copy, n, n * c * (h + 2 * ph) * (w + 2 * pw) * x.itemsize)
    return cols


@kernel
def col2im(cols, input_shape, kernel_size, stride, padding, dilation, planar=False):
    """The adjoint of im2col: each column entry (N, C, kh, kw, OH, OW) added back into the
    input position (N, C, H, W) it was read from; taps that overlap add up. ``cols`` may have
    any strides (fastest the channels, or for ``planar`` the output rows, as conv lays them out);
    OH, OW are read from its shape. Returns a view of channels-last memory, or of channels-first
    memory for ``planar``.

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


def _conv2d_array(x, w_matrix, kernel_size, stride, padding, dilation, planar, output_size=None):
    """y[n, o, oh, ow] = sum_{c i j} w[o, c, i, j] x_padded[n, c, oh sh + i dh, ow sw + j dw],
    with w (O, C, kh, kw) given as w_matrix = _as_matrix(w, WEIGHT_ROWS, planar).

    Returns y (N, O, OH, OW) and the columns, the matrix (n oh ow) x (taps), for the weight
    gradient. ``output_size`` keeps only the first (OH, OW) positions (a transposed convolution's
    input gradient when its output_padding reaches past the last stride)."""
    cols = im2col(x, kernel_size, stride, padding, dilation, planar)  # n c kh kw oh ow
    if output_size is not None:
        cols = cols[..., :output_size[0], :output_size[1]]
    n, oh, ow = cols.shape[0], *cols.shape[4:]
    cols = _as_matrix(cols, COLUMN_ROWS, planar)  # (n oh ow) (taps)
    y = (cols @ w_matrix.T).reshape(n, oh, ow, len(w_matrix))  # n oh ow o
    return y.transpose(0, 3, 1, 2), cols  # n o oh ow (a view)


def _conv_transpose2d_array(x_shape, x_matrix, w_matrix, kernel_size, output_size, stride, padding, dilation,
                            planar):
    """The adjoint of _conv2d_array's map x -> y, applied to x of shape x_shape (N, C, H, W), given as
    x_matrix = _matrix(x), with w (C, O, kh, kw) given as w_matrix = _as_matrix(w, WEIGHT_ROWS, planar):
    y = col2im(x w), of shape (N, O) + output_size. Planar, the product is laid out (taps) x (n h w)."""
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
    """grad_w[a, b, i, j] = sum_r a_matrix[r, a] cols[r, (taps)] over the rows r = (n, l): one product."""
    grad = _from_matrix(a_matrix.T @ cols, shape, WEIGHT_ROWS, planar)
    return array_module(grad).ascontiguousarray(grad)  # a b kh kw


def _with_bias_grad(fn, gx, gw, grad):
    """fn's input and weight gradients, and the bias's (grad summed over n, h, w) when fn has a bias."""
    return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if len(fn.needs_input_grad) == 3 else ())


def _add_bias(y, b):
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


class Conv2d(Function):
    def forward(self, x, w, b=None, *, stride, padding, dilation):
        self.geometry, self.input_size, self.weight_shape = (stride, padding, dilation), x.shape[2:], w.shape
        size = conv_output_size(x.shape[2:], w.shape[2:], stride, padding, dilation)
        self.planar = planar_columns(x.shape[:2] + w.shape[2:] + size, array_module(x))
        w_matrix = _as_matrix(w, WEIGHT_ROWS, self.planar)
        y, cols = _conv2d_array(x, w_matrix, w.shape[2:], *self.geometry, self.planar)
        self.save_for_backward(w_matrix, cols)
        return _add_bias(y, b)

    # y = cols(x) W^T + b: grad_x = col2im(grad W) (a transposed convolution),
    # grad_W = grad^T cols, grad_b = sum of grad over n, oh, ow
    def backward(self, grad):
        w_matrix, cols = self.saved
        g = _matrix(grad)  # (n oh ow) o
        gx = (_conv_transpose2d_array(grad.shape, g, w_matrix, self.weight_shape[2:], self.input_size, *self.geometry,
                                      self.planar) if self.needs_input_grad[0] else None)
        gw = _weight_grad(g, cols, self.weight_shape, self.planar) if self.needs_input_grad[1] else None
        return _with_bias_grad(self, gx, gw, grad)


class ConvTranspose2d(Function):
    def forward(self, x, w, b=None, *, stride, padding, output_padding, dilation):
        self.geometry, self.input_size, self.weight_shape = (stride, padding, dilation), x.shape[2:], w.shape
        self.planar = planar_columns((len(x),) + w.shape[1:] + x.shape[2:], array_module(x))
        size = conv_transpose_output_size(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
        x_matrix, w_matrix = _matrix(x), _as_matrix(w, WEIGHT_ROWS, self.planar)  # (n h w) c and c (taps)
        self.save_for_backward(w_matrix, x_matrix)
        y = _conv_transpose2d_array(x.shape, x_matrix, w_matrix, w.shape[2:], size, *self.geometry, self.planar)
        return _add_bias(y, b)

    # y = col2im(x W) + b: grad_x = cols(grad) W^T (a convolution), grad_W = x^T cols(grad),
    # grad_b = sum of grad over n, h, w
    def backward(self, grad):
        w_matrix, x_matrix = self.saved
        gx, cols = _conv2d_array(grad, w_matrix, self.weight_shape[2:], *self.geometry, self.planar,
                                 output_size=self.input_size)
        gw = _weight_grad(x_matrix, cols, self.weight_shape, self.planar) if self.needs_input_grad[1] else None
        return _with_bias_grad(self, gx, gw, grad)


class WinogradConv2d(Function):
    """conv2d where nn.winograd fits: y = A^T (V U) A, with V = B^T x B and U = G w G^T."""

    def forward(self, x, w, b=None, *, plan):
        self.plan = plan
        u, v = plan.weights(w), plan.input_tiles(x)
        self.save_for_backward(u, v)
        return _add_bias(plan.output(np.matmul(v, u)), b)

    # with gM = A grad A^T: grad_x = B (gM U^T) B^T, grad_w = G^T (V^T gM) G, grad_b = sum of grad
    def backward(self, grad):
        u, v = self.saved
        g = self.plan.output_tiles(grad)
        gx = self.plan.input(np.matmul(g, u.transpose(0, 2, 1))) if self.needs_input_grad[0] else None
        gw = self.plan.weight_grad(v, g) if self.needs_input_grad[1] else None
        return _with_bias_grad(self, gx, gw, grad)


class WinogradConvTranspose2d(Function):
    """conv_transpose2d where nn.winograd fits: y = B (X U^T) B^T, with X = A x A^T and U = G w G^T."""

    def forward(self, x, w, b=None, *, plan):
        self.plan = plan
        u, g = plan.weights(w), plan.output_tiles(x)
        self.save_for_backward(u, g)
        return _add_bias(plan.input(np.matmul(g, u.transpose(0, 2, 1))), b)

    # with V = B^T grad B: grad_x = A^T (V U) A, grad_w = G^T (V^T X) G, grad_b = sum of grad
    def backward(self, grad):
        u, g = self.saved
        v = self.plan.input_tiles(grad)
        gx = self.plan.output(np.matmul(v, u)) if self.needs_input_grad[0] else None
        gw = self.plan.weight_grad(v, g) if self.needs_input_grad[1] else None
        return _with_bias_grad(self, gx, gw, grad)


def _check(op, x, weight, bias, in_axis, out_axis, **geometry):
    """Shapes and geometry as (h, w) pairs, or a ValueError naming the op and the shapes."""
    shapes = f"input {x.shape}, weight {weight.shape}"
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) and a 4-D weight, got {shapes}")
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but the weight expects "
                         f"{weight.shape[in_axis]} ({shapes})")
    if bias is not None and tuple(bias.shape) != (weight.shape[out_axis],):
        raise ValueError(f"{op}: bias of shape {bias.shape}, expected ({weight.shape[out_axis]},) ({shapes})")
    pairs = {name: pair(value, name) for name, value in geometry.items()}
    low = dict(stride=1, padding=0, dilation=1, output_padding=0)
    for name, values in pairs.items():
        if min(values) < low[name]:
            raise ValueError(f"{op}: {name} must be at least {low[name]}, got {geometry[name]!r} ({shapes})")
    return pairs


def _array(x):
    """The array of a Tensor (or x itself): its type says which backend runs the op."""
    return getattr(x, "data", x)


def _check_output(op, size, x, weight):
    if min(size) < 1:
        raise ValueError(f"{op}: the output would be empty, size {size} for input {x.shape} "
                         f"and weight {weight.shape}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,), as
    torch.nn.functional.conv2d; stride, padding and dilation are ints or (h, w) pairs."""
    g = _check("conv2d", x, weight, bias, 1, 0, stride=stride, padding=padding, dilation=dilation)
    _check_output("conv2d", conv_output_size(x.shape[2:], weight.shape[2:], **g), x, weight)
    bias = [] if bias is None else [bias]
    plan = Winograd.fit(_array(x), x.shape, len(weight), weight.shape[2:], **g)
    if plan is not None:
        return WinogradConv2d.apply(x, weight, *bias, plan=plan)
    return Conv2d.apply(x, weight, *bias, **g)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, *, dilation=1):
    """The adjoint of conv2d in its input: x (N, C, H, W) with weight (C, O, kh, kw), plus bias (O,),
    as torch.nn.functional.conv_transpose2d. The output is (H - 1) s - 2p + d (k - 1) + output_padding + 1
    high (and so wide); output_padding picks among the sizes that conv2d maps back to H. dilation is
    keyword-only: torch's sixth positional argument is groups."""
    g = _check("conv_transpose2d", x, weight, bias, 0, 1, stride=stride, padding=padding,
               output_padding=output_padding, dilation=dilation)
    for op, s, d in zip(g["output_padding"], g["stride"], g["dilation"]):
        if op >= max(s, d):
            raise ValueError(f"conv_transpose2d: output_padding {output_padding!r} must be smaller than "
                             f"either stride {stride!r} or dilation {dilation!r}")
    size = conv_transpose_output_size(x.shape[2:], weight.shape[2:], **g)
    _check_output("conv_transpose2d", size, x, weight)
    bias = [] if bias is None else [bias]
    geometry = {name: g[name] for name in ("stride", "padding", "dilation")}
    plan = Winograd.fit(_array(x), (len(x), weight.shape[1]) + size, len(weight), weight.shape[2:], **geometry)
    if plan is not None:
        return WinogradConvTranspose2d.apply(x, weight, *bias, plan=plan)
    return ConvTranspose2d.apply(x, weight, *bias, **g)
