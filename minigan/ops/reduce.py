"""Reductions: sum mean max min var std logsumexp over ``axis`` (None for all, an int, or a tuple).

Each backward sends the output's gradient back over the reduced axes (``Reduction.spread``)
and multiplies by how much each element counted: 1, 1/n, a share of the max, 2(a - mean)/dof.
Var, Std and LogSumExp save their input and output (not the centred input or the keepdims
result), so that a backward on Tensors differentiates through them.
"""
import functools
import math

import numpy as np

from .. import checks
from ..backend import array_module
from ..tensor import Function


def reduced_axes(axis, ndim, op=None):
    """``axis`` as a tuple of non-negative axes; None means every axis. ``op`` names the caller in errors."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op + ': ' if op else ''}axis {a} is out of range for {ndim} dimensions")
    return tuple(a % ndim for a in axes)


def torch_names(op):
    """Let ``op`` take torch's spelling too: ``dim=`` for ``axis=``, ``keepdim=`` for ``keepdims=``; and check that
    its axis (the second argument) is None, an int or a tuple of ints."""
    @functools.wraps(op)
    def with_torch_names(*args, dim=None, keepdim=None, **kwargs):
        if dim is not None:
            kwargs["axis"] = dim
        if keepdim is not None:
            kwargs["keepdims"] = keepdim
        checks.axis(op.__name__, kwargs.get("axis", args[1] if len(args) > 1 else None))
        return op(*args, **kwargs)
    return with_torch_names


def logsumexp_array(a, axis):
    """log(sum(exp(a))) over ``axis``, keeping the reduced axes, shifted by the max so exp cannot overflow."""
    xp = array_module(a)
    shift = a.max(axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, xp.zeros((), a.dtype))  # all -inf (or an inf): no shift
    return xp.log(xp.exp(a - shift).sum(axis=axis, keepdims=True)) + shift


class Reduction(Function):
    """A reduction over some axes of its input; ``spread`` is the adjoint of dropping them."""

    def reduce_over(self, a, axis, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, reduced_axes(axis, a.ndim), keepdims
        self.count = math.prod(a.shape[i] for i in self.axes)
        return self.axes

    def kept(self, out):
        """``out`` computed with keepdims=True, as the caller asked for it."""
        return out if self.keepdims else out.squeeze(self.axes)

    def spread(self, grad):
        """The output's gradient repeated over the reduced axes: shape of the input."""
        xp = array_module(grad)
        return xp.broadcast_to(grad if self.keepdims else xp.expand_dims(grad, self.axes), self.shape)


class Sum(Reduction):
    def forward(self, a, axis=None, keepdims=False):
        return a.sum(axis=self.reduce_over(a, axis, keepdims), keepdims=keepdims)

    # d sum(a) = sum(da): every element gets the output's gradient
    def backward(self, grad):
        return self.spread(grad)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        return super().forward(a, axis, keepdims) / self.count

    # d mean(a) = sum(da) / n
    def backward(self, grad):
        return super().backward(grad) / self.count


class Max(Reduction):
    reduction = "max"

    def forward(self, a, axis=None, keepdims=False):
        axes = self.reduce_over(a, axis, keepdims)
        out = getattr(a, self.reduction)(axis=axes, keepdims=True)
        hit = (a == out).astype(a.dtype)
        self.save_for_backward(hit / hit.sum(axis=axes, keepdims=True))
        return self.kept(out)

    # the arg-max elements get the gradient, split evenly between ties (as torch.amax)
    def backward(self, grad):
        return self.spread(grad) * self.saved[0]


class Min(Max):
    reduction = "min"


class Var(Reduction):
    def forward(self, a, axis=None, keepdims=False, correction=1):
        axes = self.reduce_over(a, axis, keepdims)
        centered = a - a.mean(axis=axes, keepdims=True)
        self.dof = self.count - correction
        self.save_for_backward(a)
        return (centered * centered).sum(axis=axes, keepdims=keepdims) / self.dof

    # var = sum((a - mean)^2) / dof, so d var = 2 (a - mean) da / dof (the mean's change sums to 0)
    def backward(self, grad):
        a = self.saved[0]
        return self.spread(grad) * (a - a.mean(axis=self.axes, keepdims=True)) * (2 / self.dof)


class Std(Var):
    def forward(self, a, axis=None, keepdims=False, correction=1):
        out = array_module(a).sqrt(super().forward(a, axis, keepdims, correction))
        self.save_for_backward(a, out)
        return out

    # d std = d var / (2 std), taken as 0 where std = 0 as torch does (dividing by inf gives it)
    def backward(self, grad):
        std = self.saved[1]
        xp = array_module(grad)
        return super().backward(grad / (2 * xp.where(xp.equal(std, 0), np.inf, std)))


class LogSumExp(Reduction):
    def forward(self, a, axis=None, keepdims=False):
        out = self.kept(logsumexp_array(a, self.reduce_over(a, axis, keepdims)))
        self.save_for_backward(a, out)
        return out

    # d logsumexp(a) = softmax(a) da = exp(a - logsumexp(a)) da
    def backward(self, grad):
        a, out = self.saved
        return self.spread(grad) * array_module(grad).exp(a - self.spread(out))


def _correction(correction, unbiased):
    """torch's two spellings: ``correction`` (n - correction divides), or the older ``unbiased``."""
    if correction is not None:
        return correction
    return 1 if unbiased is None else int(unbiased)


@torch_names
def sum(x, axis=None, keepdims=False):  # noqa: A001 (torch.sum)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


@torch_names
def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axis=axis, keepdims=keepdims)


@torch_names
def max(x, axis=None, keepdims=False):  # noqa: A001
    """The largest values (as NumPy's max and torch's amax; no indices)."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


@torch_names
def min(x, axis=None, keepdims=False):  # noqa: A001
    """The smallest values (as NumPy's min and torch's amin; no indices)."""
    return Min.apply(x, axis=axis, keepdims=keepdims)


@torch_names
def var(x, axis=None, keepdims=False, *, correction=None, unbiased=None):
    """Variance dividing by n - correction (default 1, unbiased, as torch.var)."""
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=_correction(correction, unbiased))


@torch_names
def std(x, axis=None, keepdims=False, *, correction=None, unbiased=None):
    """Standard deviation, the square root of ``var``; its gradient is 0 where it is 0, as torch's."""
    return Std.apply(x, axis=axis, keepdims=keepdims, correction=_correction(correction, unbiased))


@torch_names
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, without overflow."""
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)
