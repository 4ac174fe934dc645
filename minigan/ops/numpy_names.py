"""minigan's differentiable ops under NumPy's names: what ``array_module`` gives for a Tensor.

Every backward is written once, with ``xp = array_module(grad)``. On arrays, as every first-order
backward runs, ``xp`` is numpy (or cupy) and nothing is recorded. Given Tensors, as a backward runs
with ``create_graph=True``, ``xp`` is this module: the same lines apply minigan's ops, which record
a graph that can be differentiated again. Here are the names that minigan's backwards use, and the
comparisons; a backward that needs another adds it here.

Comparisons read the values and give constant boolean arrays: they are piecewise constant, so their
derivative is zero, and a mask made from them is a constant of the graph. A Tensor is never written in
place: ``out=`` only sets the result's dtype (a comparison into a float array gives a constant float
Tensor), and ``a *= b`` on a Tensor is ``a = a * b``, so a backward uses what each call returns.
"""
from ..backend import array_module
from ..tensor import Tensor
from .elementwise import exp, log, maximum, minimum, sqrt, where
from .matmul import matmul
from .reduce import sum
from .shape import Expand, concatenate, permute, reshape, stack
from .shape import transpose as _swap

__all__ = ["exp", "log", "log1p", "sqrt", "maximum", "minimum", "where", "matmul", "sum", "einsum", "concatenate",
           "stack", "split", "reshape", "broadcast_to", "expand_dims", "transpose", "swapaxes", "moveaxis",
           "greater", "greater_equal", "less", "less_equal", "equal", "empty_like"]


def _values(x):
    return x.data if isinstance(x, Tensor) else x


def _comparison(name):
    def compare(a, b, out=None):
        a, b = _values(a), _values(b)
        xp = array_module(a if hasattr(a, "shape") else b)
        result = xp.asarray(getattr(xp, name)(a, b))  # an array, also for 0-d operands (NumPy gives a scalar)
        return result if out is None else Tensor(result.astype(out.dtype))
    compare.__name__ = name
    return compare


def empty_like(x):
    """A constant of x's shape and dtype, for ``out=`` (its values are never read)."""
    return Tensor(array_module(x.data).empty_like(x.data))


greater, greater_equal, less, less_equal, equal = map(
    _comparison, ("greater", "greater_equal", "less", "less_equal", "equal"))


def log1p(x):
    """log(1 + x): its derivative 1 / (1 + x) is log1p's; its value is as exact as 1 + x."""
    return log(1 + x)


def broadcast_to(x, shape):
    return Expand.apply(x, shape=tuple(shape))


def expand_dims(x, axis):
    axes = sorted(a % (x.ndim + len(axis)) for a in axis) if isinstance(axis, tuple) else [axis % (x.ndim + 1)]
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def transpose(x, axes=None):
    """The axes in the order ``axes`` (NumPy's transpose; Tensor.transpose swaps two, as torch's)."""
    return permute(x, tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    return _swap(x, axis1, axis2)


def moveaxis(x, source, destination):
    order = [a for a in range(x.ndim) if a != source % x.ndim]
    order.insert(destination % x.ndim, source % x.ndim)
    return permute(x, tuple(order))


def split(x, indices, axis=0):
    """The slabs between ``indices`` along ``axis`` (a list of split points, as the backwards use)."""
    bounds = [0, *indices, x.shape[axis]]
    lead = (slice(None),) * (axis % x.ndim)
    return [x[lead + (slice(start, stop),)] for start, stop in zip(bounds, bounds[1:])]


def einsum(subscripts, *operands):
    """NumPy's einsum for explicit subscripts ("nchw,nchw->c"; no "..." and no letter twice in one
    operand): each operand permuted and reshaped onto every letter, the output's first (size 1 where
    it has none), the products broadcast, then summed over the letters that the output lacks."""
    inputs, output = subscripts.replace(" ", "").split("->")
    inputs = inputs.split(",")
    summed = sorted(set("".join(inputs)) - set(output))
    letters = output + "".join(summed)
    product = None
    for letters_in, x in zip(inputs, operands):
        ordered = sorted(letters_in, key=letters.index)
        x = permute(x, tuple(letters_in.index(c) for c in ordered))
        sizes = dict(zip(ordered, x.shape))
        x = reshape(x, tuple(sizes.get(c, 1) for c in letters))
        product = x if product is None else product * x
    return sum(product, axis=tuple(range(len(output), len(letters))))
