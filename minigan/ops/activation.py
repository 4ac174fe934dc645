"""Activations: sigmoid tanh relu leaky_relu softplus log_sigmoid softmax log_softmax.

The array-level ``*_forward``/``*_backward`` functions are ``@kernel``s: on CuPy arrays a
hand-written CUDA kernel of the same name (minigan.cuda) runs instead; given Tensors (a backward
building a graph) they run their NumPy expression, in minigan's ops. Backwards that can use the
output (relu, tanh, sigmoid) take it rather than the input; those that need sigmoid call the
Sigmoid op (``Sigmoid.call``), so that on Tensors its own backward differentiates it.
"""
from ..backend import array_module, kernel
from ..tensor import Function
from .reduce import logsumexp_array, torch_names


@kernel
def relu_forward(x):
    return array_module(x).maximum(x, 0)


@kernel
def relu_backward(y, grad):
    # d relu(x) = [x > 0] dx, and y > 0 exactly where x > 0
    return grad * array_module(grad).greater(y, 0)


@kernel
def leaky_relu_forward(x, negative_slope):
    # x where x > 0, else negative_slope x: the larger of the two for negative_slope <= 1, else the
    # smaller. max and min need no per-element branch, which a select (where) takes and mispredicts.
    xp = array_module(x)
    y = xp.multiply(x, negative_slope, out=xp.empty_like(x))
    return (xp.maximum if negative_slope <= 1 else xp.minimum)(y, x, out=y)


@kernel
def leaky_relu_backward(x, grad, negative_slope):
    # d leaky_relu(x) = dx where x > 0, else negative_slope dx: grad times s + (1 - s) [x > 0], the
    # mask written straight as floats, no bool temporaries and no per-element branch (a where takes
    # 15 times as long on NumPy). For s in [0, 1], (1 - s) + s rounds to exactly 1 in the grad's
    # dtype; other slopes take a select. On Tensors the in-place lines rebind (``out=`` gives the dtype).
    xp = array_module(grad)
    s = grad.dtype.type(negative_slope)
    if not 0 <= s <= 1:
        return xp.where(xp.greater(x, 0), grad, grad * s)
    slope = xp.greater(x, 0, out=xp.empty_like(grad))  # 1.0 or 0.0
    slope *= 1 - s
    slope += s
    slope *= grad
    return slope


@kernel
def tanh_forward(x):
    return array_module(x).tanh(x)


@kernel
def tanh_backward(y, grad):
    # d tanh(x) = (1 - tanh(x)^2) dx
    return grad * (1 - y * y)


@kernel
def sigmoid_forward(x):
    # 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: exp only ever sees -|x|, so never overflows
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


@kernel
def sigmoid_backward(y, grad):
    # d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) dx
    return grad * y * (1 - y)


class ActivationOfOutput(Function):
    """y = f(x) whose derivative is a function of y, as relu's, tanh's and sigmoid's are:
    ``forward_kernel(x)`` makes y, ``backward_kernel(y, grad)`` makes x's gradient."""
    forward_kernel = backward_kernel = None

    def forward(self, x):
        y = self.forward_kernel(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return self.backward_kernel(self.saved[0], grad)


class ReLU(ActivationOfOutput):
    forward_kernel, backward_kernel = staticmethod(relu_forward), staticmethod(relu_backward)


class Tanh(ActivationOfOutput):
    forward_kernel, backward_kernel = staticmethod(tanh_forward), staticmethod(tanh_backward)


class Sigmoid(ActivationOfOutput):
    forward_kernel, backward_kernel = staticmethod(sigmoid_forward), staticmethod(sigmoid_backward)


class LeakyReLU(Function):
    def forward(self, x, negative_slope=0.01):
        self.negative_slope = negative_slope
        self.save_for_backward(x)
        return leaky_relu_forward(x, negative_slope)

    def backward(self, grad):
        return leaky_relu_backward(self.saved[0], grad, self.negative_slope)


class Softplus(Function):
    def forward(self, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        z = beta * x
        linear = z > threshold
        self.beta = beta
        self.save_for_backward(linear, x)
        # log(1 + e^z) / beta, and x itself above the threshold (as torch), where they agree to 2e-9
        return xp.where(linear, x, xp.log1p(xp.exp(xp.minimum(z, threshold))) / beta)

    # d softplus(x) = sigmoid(beta x) dx (1 above the threshold)
    def backward(self, grad):
        linear, x = self.saved
        return array_module(grad).where(linear, grad, grad * Sigmoid.call(self.beta * x))


class LogSigmoid(Function):
    def forward(self, x):
        xp = array_module(x)
        self.save_for_backward(x)
        # log sigmoid(x) = min(x, 0) - log(1 + e^-|x|): exp only sees -|x|
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    # d log sigmoid(x) = (1 - sigmoid(x)) dx = sigmoid(-x) dx
    def backward(self, grad):
        return grad * Sigmoid.call(-self.saved[0])


class Softmax(Function):
    def forward(self, x, axis=-1):
        e = array_module(x).exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(y)
        return y

    # dy = y (dx - sum(y dx)): grad_x = y (grad - sum(grad y))
    def backward(self, grad):
        y = self.saved[0]
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x, axis=-1):
        y = x - logsumexp_array(x, axis)
        self.axis = axis
        self.save_for_backward(y)
        return y

    # dy = dx - sum(softmax(x) dx): grad_x = grad - softmax(x) sum(grad)
    def backward(self, grad):
        y = self.saved[0]
        return grad - array_module(grad).exp(y) * grad.sum(axis=self.axis, keepdims=True)


def relu(x): return ReLU.apply(x)
def tanh(x): return Tanh.apply(x)
def sigmoid(x): return Sigmoid.apply(x)
def log_sigmoid(x): return LogSigmoid.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold (as torch.nn.functional.softplus)."""
    return Softplus.apply(x, beta=beta, threshold=threshold)


@torch_names
def softmax(x, axis=-1):
    return Softmax.apply(x, axis=axis)


@torch_names
def log_softmax(x, axis=-1):
    return LogSoftmax.apply(x, axis=axis)
