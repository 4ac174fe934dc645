"""Shape ops: reshape flatten permute transpose squeeze unsqueeze expand, indexing, concatenate
stack pad, and to_device. They move elements without changing them, so each backward moves
the gradient back to where its element came from.
"""
import math

import numpy as np

from .. import backend, checks
from ..backend import array_module
from ..tensor import Function, Tensor
from .elementwise import unbroadcast
from .reduce import reduced_axes, torch_names


class Reshape(Function):
    def forward(self, a, shape):
        self.input_shape = a.shape
        return a.reshape(shape)

    # the same elements in a new shape: the gradient takes the input's shape back
    def backward(self, grad):
        return grad.reshape(self.input_shape)


class Permute(Function):
    def forward(self, a, dims):
        out = a.transpose(dims)
        self.inverse = tuple(int(d) for d in np.argsort([d % a.ndim for d in dims]))
        return out

    # out.axes = a.axes[dims]: the inverse permutation takes the gradient back
    def backward(self, grad):
        return array_module(grad).transpose(grad, self.inverse)


class Expand(Function):
    def forward(self, a, shape):
        self.input_shape = a.shape
        return array_module(a).broadcast_to(a, shape)

    # every copy of an element sends its gradient back to it: unbroadcast sums them
    def backward(self, grad):
        return unbroadcast(grad, self.input_shape)


class GetItem(Function):
    def forward(self, a, index):
        self.input_shape, self.index = a.shape, index
        return a[index]

    # out = a[index]: each gradient element adds into the element it was read from
    def backward(self, grad):
        return IndexAdd.call(grad, index=self.index, shape=self.input_shape)


class IndexAdd(Function):
    """Zeros of ``shape`` with ``a`` added in at ``index``: GetItem's adjoint, as GetItem is its adjoint."""

    def forward(self, a, index, shape):
        xp = array_module(a)
        self.index = index
        out = xp.zeros(shape, a.dtype)
        if _is_basic(index):
            out[index] = a  # ints and slices reach each element at most once
        else:
            xp.add.at(out, index, a)  # an integer index that repeats adds up (CuPy >= 13 has ufunc.at too)
        return out

    # out[index] += a: a's gradient is the output's gradient read at index
    def backward(self, grad):
        return GetItem.call(grad, index=self.index)


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Concatenate(Function):
    def forward(self, *arrays, axis=0):
        out = array_module(arrays[0]).concatenate(arrays, axis=axis)
        self.axis, self.splits = axis, np.cumsum([a.shape[axis] for a in arrays[:-1]]).tolist()
        return out

    # each input's gradient is its own slab of the output's gradient
    def backward(self, grad):
        return tuple(array_module(grad).split(grad, self.splits, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        return array_module(arrays[0]).stack(arrays, axis=axis)

    # each input's gradient is its own slice of the output's gradient along axis
    def backward(self, grad):
        slices = array_module(grad).moveaxis(grad, self.axis, 0)
        return tuple(slices[i] for i in range(len(slices)))


class Pad(Function):
    def forward(self, a, pad_width, value=0.0):
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2)).tolist()
        out = array_module(a).pad(a, widths, constant_values=value)
        self.crop = tuple(slice(before, before + n) for (before, _), n in zip(widths, a.shape))
        return out

    # the padding is constant: the gradient is the output's gradient cropped back
    def backward(self, grad):
        return grad[self.crop]


class ToDevice(Function):
    def forward(self, a, device):
        self.source = backend.device_of(a)
        return backend.to_device(a, device)

    # a copy between devices: its gradient is copied back
    def backward(self, grad):
        return ToDevice.call(grad, device=self.source)


def _sizes(op, name, sizes, minimum=None):
    """(2, 3) and 2, 3 alike, as torch's x.reshape(2, 3) and x.reshape((2, 3)): ints, at least ``minimum``."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
    return checks.integers(op, name, sizes, minimum)


def reshape(x, *shape):
    """The same elements in ``shape`` (one size may be -1)."""
    shape = _sizes("reshape", "shape", shape, minimum=-1)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one size may be -1, got {shape}")
    return Reshape.apply(x, shape=shape)


def flatten(x, start_dim=0, end_dim=-1):
    """Axes start_dim..end_dim merged into one, as torch.flatten."""
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = reduced_axes(_sizes("flatten", "dims", (start_dim, end_dim)), x.ndim, "flatten")
    return reshape(x, x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:])


def permute(x, *dims):
    """The axes reordered: output axis i is input axis dims[i]."""
    return Permute.apply(x, dims=_sizes("permute", "dims", dims))


def transpose(x, dim0, dim1):
    """Axes dim0 and dim1 swapped, as torch.transpose."""
    dim0, dim1 = reduced_axes(_sizes("transpose", "dims", (dim0, dim1)), x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, dims)


@torch_names
def squeeze(x, axis=None):
    """Size-1 axes removed (all of them, or those of ``axis`` that have size 1, as torch.squeeze)."""
    axes = reduced_axes(axis, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


@torch_names
def unsqueeze(x, axis):
    """A size-1 axis inserted at ``axis`` (negative counts from the end of the result)."""
    (axis,) = reduced_axes(axis, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def expand(x, *sizes):
    """Size-1 axes repeated to ``sizes`` without copying (-1 keeps a size), as torch.Tensor.expand."""
    sizes = _sizes("expand", "sizes", sizes, minimum=-1)
    lead = len(sizes) - x.ndim
    return Expand.apply(x, shape=sizes[:lead] + tuple(n if s == -1 else s for s, n in zip(sizes[lead:], x.shape)))


def getitem(x, index):
    """``x[index]``: ints, slices, None, Ellipsis, integer arrays, boolean masks, Tensors."""
    return GetItem.apply(x, index=_array_index(index, x._xp))


def _array_index(index, xp):
    """Tensors, lists and arrays in an index become arrays on the indexed tensor's device."""
    if isinstance(index, tuple):
        return tuple(_array_index(i, xp) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    return xp.asarray(index) if isinstance(index, (list, np.ndarray)) else index


@torch_names
def concatenate(tensors, axis=0):
    """The tensors joined along an existing ``axis`` (torch.cat)."""
    return Concatenate.apply(*tensors, axis=axis)


@torch_names
def stack(tensors, axis=0):
    """The tensors joined along a new ``axis``."""
    return Stack.apply(*tensors, axis=axis)


def pad(x, pad_width, value=0.0):
    """Constant padding; ``pad_width`` as NumPy's: ((before, after), ...) per axis, or one pair, or one int."""
    return Pad.apply(x, pad_width=pad_width, value=value)


def to_device(x, device):
    """A copy of ``x`` on ``device``, through which gradients flow back (Tensor.to)."""
    return ToDevice.apply(x, device=device)
