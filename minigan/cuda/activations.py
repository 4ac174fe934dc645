"""Activations on CuPy arrays: the kernels of kernels/activations.cu, each replacing the NumPy function
of the same name and signature in minigan/ops/activation.py."""
from .loader import map_elements


def _run(name, *arrays, params=()):
    return map_elements("activations", name, arrays, params, numpy_module="ops.activation")


def relu_forward(x):
    """max(x, 0); replaces minigan.ops.activation.relu_forward (NumPy)."""
    return _run("relu_forward", x)


def relu_backward(y, grad):
    """grad [y > 0]; replaces minigan.ops.activation.relu_backward (NumPy)."""
    return _run("relu_backward", y, grad)


def leaky_relu_forward(x, negative_slope):
    """x where x > 0, else negative_slope x; replaces minigan.ops.activation.leaky_relu_forward (NumPy)."""
    return _run("leaky_relu_forward", x, params=(negative_slope,))


def leaky_relu_backward(x, grad, negative_slope):
    """grad where x > 0, else negative_slope grad; replaces minigan.ops.activation.leaky_relu_backward (NumPy)."""
    return _run("leaky_relu_backward", x, grad, params=(negative_slope,))


def tanh_forward(x):
    """tanh(x); replaces minigan.ops.activation.tanh_forward (NumPy)."""
    return _run("tanh_forward", x)


def tanh_backward(y, grad):
    """grad (1 - y^2); replaces minigan.ops.activation.tanh_backward (NumPy)."""
    return _run("tanh_backward", y, grad)


def sigmoid_forward(x):
    """1 / (1 + e^-x), computed without overflow; replaces minigan.ops.activation.sigmoid_forward (NumPy)."""
    return _run("sigmoid_forward", x)


def sigmoid_backward(y, grad):
    """grad y (1 - y); replaces minigan.ops.activation.sigmoid_backward (NumPy)."""
    return _run("sigmoid_backward", y, grad)
