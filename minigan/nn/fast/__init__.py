"""The fast paths of nn/conv.py's convolutions, and the one place that chooses among them.

Each module here opens with the reference it replaces and when it is chosen:

- winograd.py: Winograd's F(2x2, 2x2), on NumPy, for kernels twice the stride with deep products;
- columns.py: im2col's columns laid out for the products (channels last or planar), with CUDA
  kernels for im2col and col2im on CuPy: every other call;
- layout.py: the memory-layout and cache-blocking helpers both use.

``plan`` returns None under ``minigan.reference_mode()`` (or MINIGAN_REFERENCE=1): then conv.py's
reference runs, on NumPy and on CuPy alike.
"""
from ...backend import reference_enabled
from . import columns, winograd

PATHS = (winograd, columns)  # in order of preference; each says whether it fits a call


def plan(transposed, x, weight, size, geometry):
    """The Function (and its parameters) that runs this conv2d, or conv_transpose2d if ``transposed``, of x
    with ``weight`` to an output of ``size``; None for conv.py's reference."""
    if reference_enabled():
        return None
    for path in PATHS:
        chosen = (path.conv_transpose2d if transposed else path.conv2d)(x, weight, size, geometry)
        if chosen:
            return chosen
    return None
