"""im2col and col2im on CuPy arrays (kernels/im2col.cu), replacing the functions of the same names and
signatures of the column fast path, minigan/nn/fast/columns.py; their values are those of nn/conv.py's
reference im2col and col2im, which the tests hold them to.

The kernels read and write through strides. Inputs are read as they come (views cost no copy);
outputs are laid out in memory as the NumPy reference lays out its own (channels last, or planar
where asked, which conv does on NumPy only), so the code around them sees the same strides on either
device and its transposes cost no copy on the GPU either. Threads run channel fastest when the output is channels last, so that neighbouring threads
write neighbouring memory.
"""
import functools

import numpy as np

from .loader import BLOCK, element_strides, empty_in_order, grid_for, has_kernels, launch, memory_order, reference

_LIMIT = 2 ** 31  # the kernels split flat indices in 32-bit arithmetic


def im2col(x, kernel_size, stride, padding, dilation, planar=False):
    """cols[n, c, i, j, oh, ow] = x_padded[n, c, oh sh + i dh, ow sw + j dw] (zero padding), shape
    (N, C, kh, kw, OH, OW); one thread per output position (n, c, oh, ow).
    Replaces minigan.nn.fast.columns.im2col."""
    from ..nn.conv import conv_output_size
    out_size = conv_output_size(x.shape[2:], kernel_size, stride, padding, dilation)
    if not has_kernels(x):
        return reference("nn.fast.columns", "im2col")(x, kernel_size, stride, padding, dilation, planar)
    cols = empty_in_order(x.shape[:2] + tuple(kernel_size) + out_size, x.dtype, _reference_order("im2col", planar))
    threads = x.shape[0] * x.shape[1] * out_size[0] * out_size[1]
    return _launch("im2col", x, cols, threads, (x, *element_strides(x), cols, *element_strides(cols)), x.shape,
                   kernel_size, out_size, stride, padding, dilation, c_fastest=_channels_fastest(cols, (4, 5)))


def col2im(cols, input_shape, kernel_size, stride, padding, dilation, planar=False):
    """x[n, c, h, w] = the sum of cols[n, c, i, j, oh, ow] over the taps (i, j) that read (h, w): the
    adjoint of im2col, without atomics, adding the taps in the reference's order. Without dilation one
    thread per channel and cell of stride_h x stride_w pixels, which finds its taps without a division;
    with dilation one per channel and pixel. Replaces minigan.nn.fast.columns.col2im."""
    if not has_kernels(cols):
        return reference("nn.fast.columns", "col2im")(cols, input_shape, kernel_size, stride, padding, dilation, planar)
    x = empty_in_order(tuple(input_shape), cols.dtype, _reference_order("col2im", planar))
    arrays, n, c = (cols, *element_strides(cols), x, *element_strides(x)), *x.shape[:2]
    geometry = (x.shape, kernel_size, cols.shape[-2:], stride, padding, dilation)
    c_fastest = _channels_fastest(x, (2, 3))
    if tuple(dilation) != (1, 1):
        return _launch("col2im_dilated", cols, x, x.size, arrays, *geometry, c_fastest=c_fastest)
    # cells q = hp // s from the first unpadded pixel, hp = p, to the last, p + size - 1, on each axis
    cells = [(p // s, (p + size - 1) // s - p // s + 1) for size, s, p in zip(x.shape[2:], stride, padding)]
    return _launch("col2im", cols, x, n * c * cells[0][1] * cells[1][1], arrays, *geometry,
                   extra=cells[0] + cells[1], c_fastest=c_fastest)


@functools.lru_cache(maxsize=None)
def _reference_order(name, planar):
    """The memory order (``memory_order``) of the NumPy reference's output for a small contiguous input,
    every axis longer than 1, in the layout ``planar`` or channels last; C order if it is not dense."""
    from ..nn.fast import columns
    geometry = ((2, 2), (1, 1), (0, 0), (1, 1))
    x, cols = np.zeros((2, 3, 4, 5), np.float32), np.zeros((2, 3, 2, 2, 3, 4), np.float32)
    out = (columns.im2col.reference(x, *geometry, planar) if name == "im2col"
           else columns.col2im.reference(cols, x.shape, *geometry, planar))
    return memory_order(out) or tuple(range(out.ndim))


def _channels_fastest(a, spatial_axes):
    """Whether a's channel axis (1) has the smallest stride of its channel and spatial axes longer than 1."""
    axes = [k for k in (1, *spatial_axes) if a.shape[k] > 1]
    return bool(axes) and min(axes, key=lambda k: a.strides[k]) == 1


def _launch(kernel, source, out, threads, arrays, input_shape, kernel_size, out_size, stride, padding, dilation,
            extra=(), c_fastest=False):
    """Launch with the geometry, ``extra`` and c_fastest as the kernel's int parameters; returns ``out``."""
    if min(out_size) < 1 or threads >= _LIMIT or out.size >= _LIMIT:
        raise ValueError(f"{kernel}: input {source.shape} and output {out.shape} are out of the kernel's range "
                         f"(at least one output position, fewer than 2^31 threads and elements)")
    ints = (*input_shape, *kernel_size, *out_size, *stride, *padding, *dilation, *extra, c_fastest)
    launch("im2col", kernel, out.dtype, (grid_for(threads),), (BLOCK,), (*arrays, *map(np.int32, ints)))
    return out
