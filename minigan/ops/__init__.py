"""Differentiable primitives, one family per file, and the Tensor methods that call them.

The operators and methods are bound to Tensor here, so tensor.py stays the engine alone.
"""
from ..tensor import Tensor
from .activation import leaky_relu, log_sigmoid, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .elementwise import (abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub,
                          unbroadcast, where)
from .matmul import matmul
from .reduce import logsumexp, max, mean, min, std, sum, var
from .shape import (concatenate, expand, flatten, getitem, pad, permute, reshape, squeeze, stack, transpose,
                    unsqueeze)

__all__ = ["abs", "add", "clip", "div", "exp", "log", "maximum", "minimum", "mul", "neg", "pow", "sqrt",
           "sub", "where",
           "matmul",
           "sum", "mean", "max", "min", "var", "std", "logsumexp",
           "reshape", "flatten", "permute", "transpose", "squeeze", "unsqueeze", "expand",
           "concatenate", "stack", "pad",
           "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "log_sigmoid", "softmax", "log_softmax"]


def _reflected(op):
    return lambda self, other: op(other, self)


Tensor.__add__, Tensor.__radd__ = add, _reflected(add)
Tensor.__sub__, Tensor.__rsub__ = sub, _reflected(sub)
Tensor.__mul__, Tensor.__rmul__ = mul, _reflected(mul)
Tensor.__truediv__, Tensor.__rtruediv__ = div, _reflected(div)
Tensor.__pow__, Tensor.__rpow__ = pow, _reflected(pow)
Tensor.__matmul__, Tensor.__rmatmul__ = matmul, _reflected(matmul)
Tensor.__neg__, Tensor.__abs__ = neg, abs
Tensor.__getitem__ = getitem
Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.clip = exp, log, sqrt, abs, clip
Tensor.sum, Tensor.mean, Tensor.max, Tensor.min = sum, mean, max, min
Tensor.var, Tensor.std, Tensor.logsumexp = var, std, logsumexp
Tensor.reshape = Tensor.view = reshape
Tensor.flatten, Tensor.permute, Tensor.transpose, Tensor.expand = flatten, permute, transpose, expand
Tensor.squeeze, Tensor.unsqueeze = squeeze, unsqueeze
Tensor.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))  # all axes reversed
Tensor.relu, Tensor.sigmoid, Tensor.tanh = relu, sigmoid, tanh
Tensor.softmax, Tensor.log_softmax = softmax, log_softmax
