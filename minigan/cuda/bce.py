"""Binary cross-entropy on logits for CuPy arrays (kernels/bce.cu), replacing the NumPy functions of
the same names and signatures in minigan/nn/losses.py."""
from .loader import map_elements


def bce_with_logits_forward(logits, target):
    """The elementwise loss max(x, 0) - x t + log(1 + e^-|x|), which never overflows.
    Replaces minigan.nn.losses.bce_with_logits_forward (NumPy)."""
    return map_elements("bce", "bce_with_logits_forward", (logits, target), numpy_module="nn.losses")


def bce_with_logits_backward(logits, target, grad):
    """grad (sigmoid(x) - t). Replaces minigan.nn.losses.bce_with_logits_backward (NumPy)."""
    return map_elements("bce", "bce_with_logits_backward", (logits, target, grad), numpy_module="nn.losses")
