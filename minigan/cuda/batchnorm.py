"""Batch normalization on CuPy arrays (kernels/batchnorm.cu), replacing batch_norm_forward and
batch_norm_backward of minigan/nn/normalization.py.

The kernels see x as the matrix (positions, channels) of channels-last memory, the layout of
minigan's conv outputs and of (N, C) inputs; the outputs come back in x's layout. Inputs laid out
otherwise (contiguous (N, C, H, W)) are first copied into channels-last memory. Each direction is
three launches: partial reductions by blocks (channels, slice of positions), one merge of each
channel's partials, then blocks (channels, slice) that write their slice.
"""
import math

import numpy as np

from .loader import has_kernels, in_one_layout, launch, multiprocessors, reference

BLOCK_THREADS = 256  # as kernels/batchnorm.cu
MERGE_CHANNELS = 4  # channels a block of the merging launch takes, each with BLOCK_THREADS / 4 threads


def batch_norm_forward(x, weight, bias, eps):
    """(y, mean, var): the batch's mean and biased variance per channel (axis 1) in one stable pass
    (Welford within threads, Chan's merge between them), then y = (x - mean) weight / sqrt(var + eps)
    + bias. Replaces minigan.nn.normalization.batch_norm_forward (NumPy)."""
    if not has_kernels(x, weight, bias):
        return reference("nn.normalization", "batch_norm_forward")(x, weight, bias, eps)
    import cupy
    weight, bias = map(cupy.ascontiguousarray, (weight, bias))
    (x,), y = _channels_last(x)
    p, c = x.size // x.shape[1], x.shape[1]
    mean, var = cupy.empty(c, x.dtype), cupy.empty(c, x.dtype)
    partial = cupy.empty((_slices(p, c), c, 3), x.dtype)  # s c (count mean m2)
    _run_slices("bn_partial_stats", partial, x, partial, p, c)
    _run_merge("bn_finalize_stats", partial, x, partial, mean, var, c, len(partial))
    _run_slices("bn_normalize", partial, x, mean, var, weight, bias, x.dtype.type(eps), y, p, c)
    return y, mean, var


def batch_norm_backward(grad, x, mean, var, weight, eps):
    """(grad_x, grad_weight, grad_bias) in closed form: one pass reads grad and x for both sums,
    grad_bias = sum(grad) and grad_weight = sum(grad xhat), then one writes grad_x = weight /
    sqrt(var + eps) (grad - grad_bias / M - xhat grad_weight / M).
    Replaces minigan.nn.normalization.batch_norm_backward (NumPy)."""
    if not has_kernels(grad, x, mean, var, weight):
        return reference("nn.normalization", "batch_norm_backward")(grad, x, mean, var, weight, eps)
    import cupy
    mean, var, weight = map(cupy.ascontiguousarray, (mean, var, weight))
    (x, grad), grad_x = _channels_last(x, grad)
    p, c = x.size // x.shape[1], x.shape[1]
    grad_weight, grad_bias, eps = cupy.empty(c, x.dtype), cupy.empty(c, x.dtype), x.dtype.type(eps)
    partial = cupy.empty((_slices(p, c), c, 2), x.dtype)  # s c (sum g, sum g (x - mean))
    _run_slices("bn_partial_grad_sums", partial, grad, x, mean, partial, p, c)
    _run_merge("bn_finalize_grad_sums", partial, partial, var, eps, grad_weight, grad_bias, c, len(partial))
    _run_slices("bn_backward_input", partial, grad, x, mean, var, weight, eps, grad_weight, grad_bias, grad_x, p, c)
    return grad_x, grad_weight, grad_bias


def _channels_last(*arrays):
    """The arrays laid out alike in dense memory with the channel axis innermost (the first's layout if it
    is such, else a copy), and an empty output of that layout: each is the matrix (positions, channels)."""
    x = arrays[0]
    if x.size >= 2 ** 31:
        raise ValueError(f"batch_norm: input {x.shape} has 2^31 elements or more, past the kernels' int indices")
    return in_one_layout(arrays, innermost=1)


def _run_slices(kernel, partial, *args):
    """Launch on the grid (channel tiles, slices) of ``partial``'s shape (s c width)."""
    slices, c = partial.shape[:2]
    block = _block(c)
    _run(kernel, (math.ceil(c / block[0]), slices), block, args)


def _run_merge(kernel, partial, *args):
    """Launch one block per MERGE_CHANNELS channels of ``partial``."""
    _run(kernel, (math.ceil(partial.shape[1] / MERGE_CHANNELS),),
         (MERGE_CHANNELS, BLOCK_THREADS // MERGE_CHANNELS), args)


def _run(kernel, grid, block, args):
    """Launch with Python ints passed as the kernels' int parameters."""
    launch("batchnorm", kernel, args[0].dtype, grid, block, [np.int32(a) if isinstance(a, int) else a for a in args])


def _block(c):
    """(channels, rows of positions) a block: up to 32 channels, a power of two; rows fill BLOCK_THREADS."""
    channels = min(32, 1 << max(c - 1, 0).bit_length())
    return channels, BLOCK_THREADS // channels


def _slices(p, c):
    """Slices the positions are split into: enough blocks (channel tiles x slices) to fill every
    multiprocessor eight times over, each thread taking four positions or more."""
    channels, rows = _block(c)
    return max(1, min(math.ceil(8 * multiprocessors() / math.ceil(c / channels)), p // (4 * rows)))
