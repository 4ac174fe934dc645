"""2-D convolution and its adjoint, the transposed convolution: the reference, written as the math.

conv2d copies every receptive field of the zero-padded input into a column (``im2col``) and applies
the weights to the columns: one tensor product. ``col2im`` is im2col's adjoint: it adds each column
entry back where it was read from, overlapping taps adding up. A transposed convolution is col2im of
the input times the weights. So the three ops close over each other's gradients:

    y  = conv2d(x, w)            grad_x = conv_transpose2d(grad, w)    grad_w = conv2d_weight(x, grad)
    y  = conv_transpose2d(x, w)  grad_x = conv2d(grad, w)              grad_w = conv2d_weight(grad, x)
    gw = conv2d_weight(x, g)     grad_x = conv_transpose2d(g, grad)    grad_g = conv2d(x, grad)

Each backward calls the other Functions (``Function.call``): on arrays they run their forward, on
Tensors they record a graph, which is what a second derivative needs. This file is the reference
that every faster way of doing the same sits behind: ``fast.plan`` (nn/fast/) picks one for a call,
and the graph names what ran (``y.grad_fn``); MINIGAN_REFERENCE=1 or ``minigan.reference_mode()``
makes every call take the code below.
"""
from ..backend import array_module
from ..tensor import Function, Tensor
from . import fast


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


def _taps(kernel_size, stride, dilation, output_size):
    """Each tap (i, j) with the rows and columns of the padded image it reads: the slices
    oh sh + i dh for oh < OH, and ow sw + j dw for ow < OW."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel_size, stride, dilation, output_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def im2col(x, kernel_size, stride, padding, dilation):
    """The receptive fields of x (N, C, H, W) as columns (N, C, kh, kw, OH, OW):
    cols[n, c, i, j, oh, ow] = x_padded[n, c, oh sh + i dh, ow sw + j dw]."""
    xp, (ph, pw) = array_module(x), padding
    output_size = conv_output_size(x.shape[2:], kernel_size, stride, padding, dilation)
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # n c (h + 2ph) (w + 2pw)
    cols = xp.empty(x.shape[:2] + tuple(kernel_size) + output_size, x.dtype)  # n c kh kw oh ow
    for i, j, rows, columns in _taps(kernel_size, stride, dilation, output_size):
        cols[:, :, i, j] = padded[:, :, rows, columns]  # n c oh ow
    return cols


def col2im(cols, input_shape, kernel_size, stride, padding, dilation):
    """The adjoint of im2col: each entry of cols (N, C, kh, kw, OH, OW) added back where it was read,
    x_padded[n, c, oh sh + i dh, ow sw + j dw] += cols[n, c, i, j, oh, ow]; returns x (N, C, H, W)."""
    xp, (n, c, h, w), (ph, pw) = array_module(cols), input_shape, padding
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)  # n c (h + 2ph) (w + 2pw)
    for i, j, rows, columns in _taps(kernel_size, stride, dilation, cols.shape[4:]):
        padded[:, :, rows, columns] += cols[:, :, i, j]  # n c oh ow
    return padded[:, :, ph:ph + h, pw:pw + w]


def _add_bias(y, b):
    return y if b is None else y + b.reshape(1, -1, 1, 1)


class Conv2d(Function):
    # y[n, o, oh, ow] = sum_{c i j} cols[n, c, i, j, oh, ow] w[o, c, i, j] + b[o]
    def forward(self, x, w, b=None, *, stride, padding, dilation):
        self.geometry, self.has_bias = dict(stride=stride, padding=padding, dilation=dilation), b is not None
        self.save_for_backward(x, w)
        cols = im2col(x, w.shape[2:], stride, padding, dilation)  # n c kh kw oh ow
        y = array_module(x).tensordot(cols, w, axes=((1, 2, 3), (1, 2, 3)))  # n oh ow o
        return _add_bias(y.transpose(0, 3, 1, 2), b)  # n o oh ow

    # grad_x = col2im(grad w), a transposed convolution; grad_w = sum_{n oh ow} grad cols(x);
    # grad_b = sum of grad over n, oh, ow
    def backward(self, grad):
        x, w = self.saved
        gx = (ConvTranspose2d.call(grad, w, output_size=x.shape[2:], **self.geometry)
              if self.needs_input_grad[0] else None)
        gw = Conv2dWeight.call(x, grad, kernel_size=w.shape[2:], **self.geometry) if self.needs_input_grad[1] else None
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


class ConvTranspose2d(Function):
    # y = col2im(cols) + b with cols[n, o, i, j, h, w] = sum_c x[n, c, h, w] w[c, o, i, j], y of output_size
    def forward(self, x, w, b=None, *, stride, padding, dilation, output_size):
        self.geometry, self.has_bias = dict(stride=stride, padding=padding, dilation=dilation), b is not None
        self.save_for_backward(x, w)
        cols = array_module(x).tensordot(x, w, axes=((1,), (0,)))  # n h w o kh kw
        y = col2im(cols.transpose(0, 3, 4, 5, 1, 2), (len(x), w.shape[1]) + tuple(output_size), w.shape[2:],
                   stride, padding, dilation)  # n o kh kw h w -> n o H W
        return _add_bias(y, b)

    # grad_x = cols(grad) w, a convolution (its first H x W outputs); grad_w = sum_{n h w} x cols(grad);
    # grad_b = sum of grad over n, H, W
    def backward(self, grad):
        x, w = self.saved
        h, wd = x.shape[2:]
        gx = Conv2d.call(grad, w, **self.geometry)[:, :, :h, :wd] if self.needs_input_grad[0] else None
        gw = Conv2dWeight.call(grad, x, kernel_size=w.shape[2:], **self.geometry) if self.needs_input_grad[1] else None
        return (gx, gw) + ((grad.sum(axis=(0, 2, 3)),) if self.has_bias else ())


class Conv2dWeight(Function):
    """conv2d's weight gradient as an op of its own (torch.nn.grad.conv2d_weight): linear in the image x
    and in the output gradient g, so its own gradients are a transposed convolution and a convolution."""

    # gw[o, c, i, j] = sum_{n oh ow} g[n, o, oh, ow] cols[n, c, i, j, oh, ow], over g's (OH, OW) positions
    def forward(self, x, g, *, kernel_size, stride, padding, dilation):
        self.geometry, self.kernel_size = dict(stride=stride, padding=padding, dilation=dilation), kernel_size
        self.save_for_backward(x, g)
        cols = im2col(x, kernel_size, stride, padding, dilation)[..., :g.shape[2], :g.shape[3]]  # n c kh kw oh ow
        return array_module(x).tensordot(g, cols, axes=((0, 2, 3), (0, 4, 5)))  # o c kh kw

    # grad_x = col2im(g grad) = conv_transpose2d(g, grad); grad_g = cols(x) grad = conv2d(x, grad)
    def backward(self, grad):
        x, g = self.saved
        oh, ow = g.shape[2:]
        gx = (ConvTranspose2d.call(g, grad, output_size=x.shape[2:], **self.geometry)
              if self.needs_input_grad[0] else None)
        gg = Conv2d.call(x, grad, **self.geometry)[:, :, :oh, :ow] if self.needs_input_grad[1] else None
        return gx, gg


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
    return x.data if isinstance(x, Tensor) else x


def _check_output(op, size, x, weight):
    if min(size) < 1:
        raise ValueError(f"{op}: the output would be empty, size {size} for input {x.shape} "
                         f"and weight {weight.shape}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,), as
    torch.nn.functional.conv2d; stride, padding and dilation are ints or (h, w) pairs."""
    g = _check("conv2d", x, weight, bias, 1, 0, stride=stride, padding=padding, dilation=dilation)
    size = conv_output_size(x.shape[2:], weight.shape[2:], **g)
    _check_output("conv2d", size, x, weight)
    function, params = fast.plan(False, _array(x), weight, size, g) or (Conv2d, g)
    return function.apply(x, weight, *([] if bias is None else [bias]), **params)


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
    g = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], output_size=size)
    function, params = fast.plan(True, _array(x), weight, size, g) or (ConvTranspose2d, g)
    return function.apply(x, weight, *([] if bias is None else [bias]), **params)


def conv2d_weight(x, weight_size, grad_output, stride=1, padding=0, dilation=1):
    """The gradient of conv2d(x, w) with respect to w (of shape ``weight_size``) for the output
    gradient ``grad_output``, as torch.nn.grad.conv2d_weight; differentiable in x and grad_output."""
    g = {name: pair(v, name) for name, v in dict(stride=stride, padding=padding, dilation=dilation).items()}
    return Conv2dWeight.apply(x, grad_output, kernel_size=tuple(weight_size[2:]), **g)
