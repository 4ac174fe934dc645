"""Batch normalization on CuPy arrays (kernels/batchnorm.cu), replacing batch_norm_forward and
batch_norm_backward of minigan/nn/normalization.py.

Each pass over x is three launches: partial reductions by blocks (channel, slice), one block a
channel merging its slices' partials, then an elementwise kernel over rows (n, c) of HW values.
"""
import math

import numpy as np

from .loader import BLOCK, grid_for, has_kernels, launch, multiprocessors, reference


def batch_norm_forward(x, weight, bias, eps):
    """(y, mean, var): the batch's mean and biased variance per channel (axis 1) in one stable pass
    (Welford within threads, Chan's merge between them), then y = (x - mean) weight / sqrt(var + eps)
    + bias. Replaces minigan.nn.normalization.batch_norm_forward (NumPy)."""
    if not has_kernels(x, weight, bias):
        return reference("nn.normalization", "batch_norm_forward")(x, weight, bias, eps)
    import cupy
    x, weight, bias = map(cupy.ascontiguousarray, (x, weight, bias))
    n, c, hw = _dims(x)
    slices = _slices(n, c, hw)
    partial = cupy.empty((c, slices, 3), x.dtype)  # c s (count mean m2)
    mean, var, y = cupy.empty(c, x.dtype), cupy.empty(c, x.dtype), cupy.empty_like(x)
    _run("bn_partial_stats", x.dtype, (c, slices), _row_block(hw), x, partial, n, c, hw)
    _run("bn_finalize_stats", x.dtype, (c,), (BLOCK,), x, partial, mean, var, hw, slices)
    _run("bn_normalize", x.dtype, _row_grid(n, c, hw), _row_block(hw), x, mean, var, weight, bias,
         x.dtype.type(eps), y, n, c, hw)
    return y, mean, var


def batch_norm_backward(grad, x, mean, var, weight, eps):
    """(grad_x, grad_weight, grad_bias) in closed form: one pass reads grad and x for both sums,
    grad_bias = sum(grad) and grad_weight = sum(grad xhat), then an elementwise pass writes
    grad_x = weight / sqrt(var + eps) (grad - grad_bias / M - xhat grad_weight / M).
    Replaces minigan.nn.normalization.batch_norm_backward (NumPy)."""
    if not has_kernels(grad, x, mean, var, weight):
        return reference("nn.normalization", "batch_norm_backward")(grad, x, mean, var, weight, eps)
    import cupy
    grad, x, mean, var, weight = map(cupy.ascontiguousarray, (grad, x, mean, var, weight))
    n, c, hw = _dims(x)
    slices = _slices(n, c, hw)
    partial = cupy.empty((c, slices, 2), x.dtype)  # c s (sum g, sum g (x - mean))
    grad_weight, grad_bias, grad_x = cupy.empty(c, x.dtype), cupy.empty(c, x.dtype), cupy.empty_like(x)
    eps = x.dtype.type(eps)
    _run("bn_partial_grad_sums", x.dtype, (c, slices), _row_block(hw), grad, x, mean, partial, n, c, hw)
    _run("bn_finalize_grad_sums", x.dtype, (c,), (BLOCK,), partial, var, eps, grad_weight, grad_bias, slices)
    _run("bn_backward_input", x.dtype, _row_grid(n, c, hw), _row_block(hw), grad, x, mean, var, weight,
         grad_weight, grad_bias, eps, grad_x, n, c, hw)
    return grad_x, grad_weight, grad_bias


def _run(kernel, dtype, grid, block, *args):
    """Launch with Python ints passed as the kernels' int parameters."""
    launch("batchnorm", kernel, dtype, grid, block, [np.int32(a) if isinstance(a, int) else a for a in args])


def _dims(x):
    """x (N, C, ...) as (N, C, HW): HW the product of the axes after the channel axis."""
    n, c = x.shape[:2]
    hw = math.prod(x.shape[2:])
    if x.size >= 2 ** 31:
        raise ValueError(f"batch_norm: input {x.shape} has 2^31 elements or more, past the kernels' int indices")
    return n, c, hw


def _slices(n, c, hw):
    """Slices a channel is split into for the partial reductions: enough blocks (channels x slices) to fill
    every multiprocessor eight times over, each slice at least one image and about 1024 values or more."""
    return max(1, min(n, math.ceil(8 * multiprocessors() / c), math.ceil(n * hw / 1024)))


def _row_block(hw):
    """(threads along a row of HW values, rows a block): a power of two up to HW, times rows, is BLOCK."""
    along = min(BLOCK, 1 << max(hw - 1, 0).bit_length())
    return along, BLOCK // along


def _row_grid(n, c, hw):
    return (grid_for(n * c, per_block=_row_block(hw)[1]),)
