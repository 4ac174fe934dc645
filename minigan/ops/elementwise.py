"""Elementwise arithmetic: + - * / ** neg abs exp log sqrt maximum minimum where clip.

Binary ops broadcast as NumPy does; ``unbroadcast`` is the adjoint of broadcasting. Every backward
runs on arrays, or on Tensors to build a graph (``xp`` is then minigan's ops under NumPy's names).
"""
from ..backend import array_module
from ..tensor import Function, Tensor


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    extra = grad.ndim - len(shape)
    stretched = tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    axes = tuple(range(extra)) + stretched
    return (grad.sum(axis=axes, keepdims=True) if axes else grad).reshape(shape)


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    # d(a + b) = da + db
    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    # d(a - b) = da - db
    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    # d(ab) = b da + a db
    def backward(self, grad):
        a, b = self.saved
        ga = unbroadcast(grad * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(grad * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    # d(a/b) = da / b - a db / b^2
    def backward(self, grad):
        a, b = self.saved
        ga = unbroadcast(grad / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        out = a ** b
        self.save_for_backward(a, b, out)
        return out

    # d(a^b) = b a^(b-1) da + a^b log(a) db
    def backward(self, grad):
        a, b, out = self.saved
        xp = array_module(a)
        ga = unbroadcast(grad * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(grad * out * xp.log(a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    # d(-a) = -da
    def backward(self, grad):
        return -grad


class Abs(Function):
    def forward(self, a):
        xp = array_module(a)
        self.save_for_backward(xp.sign(a))
        return xp.abs(a)

    # d|a| = sign(a) da
    def backward(self, grad):
        return grad * self.saved[0]


class Exp(Function):
    def forward(self, a):
        out = array_module(a).exp(a)
        self.save_for_backward(out)
        return out

    # d e^a = e^a da
    def backward(self, grad):
        return grad * self.saved[0]


class Log(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return array_module(a).log(a)

    # d log a = da / a
    def backward(self, grad):
        return grad / self.saved[0]


class Sqrt(Function):
    def forward(self, a):
        out = array_module(a).sqrt(a)
        self.save_for_backward(out)
        return out

    # d sqrt(a) = da / (2 sqrt(a))
    def backward(self, grad):
        return grad / (2 * self.saved[0])


class Maximum(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    # the larger input gets the gradient; a tie splits it in half, as torch does
    def backward(self, grad):
        a, b = self.saved
        xp = array_module(grad)
        share_a = xp.greater(a, b) + 0.5 * xp.equal(a, b)  # a constant: comparisons are piecewise constant
        return unbroadcast(grad * share_a, a.shape), unbroadcast(grad * (1 - share_a), b.shape)


class Minimum(Maximum):
    def forward(self, a, b):
        self.save_for_backward(-a, -b)  # min(a, b) = -max(-a, -b): Maximum.backward's shares apply
        return array_module(a).minimum(a, b)


class Where(Function):
    def forward(self, a, b, condition):
        self.condition, self.shapes = condition, (a.shape, b.shape)
        return array_module(a).where(condition, a, b)

    # d where(c, a, b) = where(c, da, db)
    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = array_module(grad)
        return (unbroadcast(xp.where(self.condition, grad, zero), self.shapes[0]),
                unbroadcast(xp.where(self.condition, zero, grad), self.shapes[1]))


class Clip(Function):
    def forward(self, a, low=None, high=None):
        above_low = True if low is None else a >= low
        below_high = True if high is None else a <= high
        self.save_for_backward(above_low & below_high)
        return array_module(a).clip(a, low, high)

    # the gradient passes where low <= a <= high, as torch.clamp's does
    def backward(self, grad):
        return grad * self.saved[0]


def add(a, b): return Add.apply(a, b)
def sub(a, b): return Sub.apply(a, b)
def mul(a, b): return Mul.apply(a, b)
def div(a, b): return Div.apply(a, b)
def pow(a, b): return Pow.apply(a, b)  # noqa: A001 (torch.pow)
def neg(a): return Neg.apply(a)
def abs(a): return Abs.apply(a)  # noqa: A001
def exp(a): return Exp.apply(a)
def log(a): return Log.apply(a)
def sqrt(a): return Sqrt.apply(a)
def maximum(a, b): return Maximum.apply(a, b)
def minimum(a, b): return Minimum.apply(a, b)
def clip(a, low=None, high=None): return Clip.apply(a, low=low, high=high)


def where(condition, a, b):
    """``a`` where ``condition`` (a boolean array or tensor) holds, else ``b``."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(a, b, condition=condition)
