"""Differentiable primitives, one family per file, and the Tensor methods that call them.

The operators and methods are bound to Tensor here, so tensor.py stays the engine alone.
"""
from ..tensor import Tensor
from .elementwise import (abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub,
                          unbroadcast, where)

__all__ = ["abs", "add", "clip", "div", "exp", "log", "maximum", "minimum", "mul", "neg", "pow", "sqrt",
           "sub", "where"]


def _reflected(op):
    return lambda self, other: op(other, self)


Tensor.__add__, Tensor.__radd__ = add, _reflected(add)
Tensor.__sub__, Tensor.__rsub__ = sub, _reflected(sub)
Tensor.__mul__, Tensor.__rmul__ = mul, _reflected(mul)
Tensor.__truediv__, Tensor.__rtruediv__ = div, _reflected(div)
Tensor.__pow__, Tensor.__rpow__ = pow, _reflected(pow)
Tensor.__neg__, Tensor.__abs__ = neg, abs
Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.clip = exp, log, sqrt, abs, clip
