"""Hand-written CUDA kernels for CuPy arrays, one wrapper per NumPy reference of the same name.

A function decorated with ``minigan.backend.kernel`` runs ``minigan.cuda.<its name>`` when its first
argument is a CuPy array: the wrappers here take the same arguments and return the same values as
the NumPy functions they replace (each docstring names its reference). They launch the kernels of
kernels/*.cu (see loader.py); dtypes without a kernel (float16) run the reference on CuPy arrays.
CuPy is imported only inside the functions, so this package imports on any machine.
"""
from .activations import (leaky_relu_backward, leaky_relu_forward, relu_backward, relu_forward, sigmoid_backward,
                          sigmoid_forward, tanh_backward, tanh_forward)
from .adam import adam_step, adam_step_group
from .batchnorm import batch_norm_backward, batch_norm_forward
from .bce import bce_with_logits_backward, bce_with_logits_forward
from .conv import col2im, im2col

__all__ = ["relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward", "tanh_forward",
           "tanh_backward", "sigmoid_forward", "sigmoid_backward", "im2col", "col2im", "batch_norm_forward",
           "batch_norm_backward", "bce_with_logits_forward", "bce_with_logits_backward", "adam_step",
           "adam_step_group"]
