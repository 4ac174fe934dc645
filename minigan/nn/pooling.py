"""Pooling on the im2col windows: max_pool2d and avg_pool2d.

im2col lays every window out along the (kh, kw) axes, so pooling is a max or a mean over them;
col2im sends each window's gradient back to the pixels it read. Im2Col and Col2Im are that pair
as ops, each the other's backward, so that a pooling backward on Tensors builds a graph too.
"""
import math

from ..backend import array_module
from ..tensor import Function
from .conv import col2im, conv_output_size, im2col, pair


class Im2Col(Function):
    def forward(self, x, kernel_size, stride, padding, dilation):
        self.input_shape = x.shape
        self.geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        return im2col(x, **self.geometry)  # n c kh kw oh ow

    # each column entry is a copy of one input pixel: col2im adds the copies' gradients back
    def backward(self, grad):
        return Col2Im.call(grad, input_shape=self.input_shape, **self.geometry)


class Col2Im(Function):
    def forward(self, cols, input_shape, kernel_size, stride, padding, dilation):
        self.geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        return col2im(cols, input_shape, **self.geometry)  # n c h w

    # each pixel is the sum of the column entries that read it: each entry's gradient is that pixel's
    def backward(self, grad):
        return Im2Col.call(grad, **self.geometry)


class MaxPool2d(Function):
    def forward(self, x, kernel_size, stride, padding, dilation):
        xp = array_module(x)
        (ph, pw) = padding
        padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf)  # padding never wins
        self.geometry = dict(kernel_size=kernel_size, stride=stride, padding=(0, 0), dilation=dilation)
        cols = im2col(padded, **self.geometry)  # n c kh kw oh ow
        self.padded_shape, self.padding, self.input_size = padded.shape, padding, x.shape[2:]
        windows = cols.reshape(cols.shape[:2] + (-1,) + cols.shape[4:])  # n c (kh kw) oh ow
        self.save_for_backward(windows.argmax(axis=2))  # n c oh ow: the first max on ties, as torch
        return windows.max(axis=2)

    # each window's gradient goes to the one pixel that was its max
    def backward(self, grad):
        (argmax,) = self.saved
        kernel_size = tuple(self.geometry["kernel_size"])
        taps = array_module(argmax).arange(math.prod(kernel_size)).reshape(-1, 1, 1)  # (kh kw) 1 1
        cols = (taps == argmax[:, :, None]) * grad[:, :, None]  # n c (kh kw) oh ow
        cols = cols.reshape(grad.shape[:2] + kernel_size + grad.shape[2:])  # n c kh kw oh ow
        padded = Col2Im.call(cols, input_shape=self.padded_shape, **self.geometry)
        (ph, pw), (h, w) = self.padding, self.input_size
        return padded[:, :, ph:ph + h, pw:pw + w]


class AvgPool2d(Function):
    def forward(self, x, kernel_size, stride, padding):
        self.input_shape = x.shape
        self.geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=(1, 1))
        return im2col(x, **self.geometry).mean(axis=(2, 3))  # zero padding counts, as torch's default

    # each window's gradient is shared equally by its kh kw pixels
    def backward(self, grad):
        kernel_size = tuple(self.geometry["kernel_size"])
        share = grad[:, :, None, None] / math.prod(kernel_size)  # n c 1 1 oh ow
        xp = array_module(grad)
        cols = xp.broadcast_to(share, grad.shape[:2] + kernel_size + grad.shape[2:])  # n c kh kw oh ow
        return Col2Im.call(cols, input_shape=self.input_shape, **self.geometry)


def _pool_geometry(op, x, kernel_size, stride, padding, dilation=1):
    """(kernel_size, stride, padding, dilation) as pairs, checked as torch checks them."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size {k}, stride {s} and dilation {d} must be positive and padding {p} "
                         f"not negative (input {x.shape})")
    if any(2 * pad > size for pad, size in zip(p, k)):
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k} (input {x.shape})")
    out = conv_output_size(x.shape[2:], k, s, p, d)
    if min(out) < 1:
        raise ValueError(f"{op}: the output would be empty, size {out} for input {x.shape} and kernel {k}")
    return k, s, p, d


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The max over each kh x kw window of x (N, C, H, W), as torch.nn.functional.max_pool2d;
    stride defaults to kernel_size, and padding is -inf (it never wins)."""
    k, s, p, d = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation)
    return MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p, dilation=d)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean over each kh x kw window of x (N, C, H, W), zero padding counted in the mean,
    as torch.nn.functional.avg_pool2d; stride defaults to kernel_size."""
    k, s, p, _ = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p)
