"""Memory layout and cache blocking for the NumPy convolutions (conv.py's im2col and col2im,
winograd.py's transforms): channels-last copies from any layout, and work split over the batch in
chunks that stay in a core's cache.
"""
import math

import numpy as np

CHUNK_BYTES = 1 << 20  # a core's L2 cache: how much of the batch is copied or transformed at a time


def copy_channels_last(out, x):
    """out (N, H, W, C) = x (N, C, H, W). From channels-first memory, a few channels at a time: each
    reads its own plane, and planes a multiple of 4 KiB apart share cache sets, so all C at once
    would evict each other's lines (12 times slower for 64 planes of 32x32 floats)."""
    plane = x.strides[1]  # bytes between channels
    step = x.shape[1] if plane == x.itemsize else max(8, (16 << 10) // max(plane, 1))  # ~16 KiB of planes
    for start in range(0, x.shape[1], step):
        out[..., start:start + step] = x[:, start:start + step].transpose(0, 2, 3, 1)


def over_batch(xp, work, n, nbytes):
    """Call work(batch) on slices that cover the batch 0..n-1, in chunks of about CHUNK_BYTES of
    the nbytes that work reads or writes repeatedly. Other array modules than NumPy get one call
    with the whole batch."""
    count = min(n, math.ceil(nbytes / CHUNK_BYTES)) if xp is np else 1
    bounds = [n * k // count for k in range(count + 1)] if count > 1 else [None, None]
    for start, stop in zip(bounds, bounds[1:]):
        work(slice(start, stop))


def in_memory_order(allocate, shape, dtype, order):
    """An array of ``shape`` from ``allocate`` (xp.empty or xp.zeros) whose axes run in memory in
    ``order``, slowest first: a transposed view of C-order memory."""
    memory = allocate(tuple(shape[k] for k in order), dtype)
    return memory.transpose(tuple(int(k) for k in np.argsort(order)))
