"""im2col and col2im on CuPy arrays (kernels/im2col.cu), replacing the NumPy functions of the same
names and signatures in minigan/nn/conv.py. Inputs are read through their strides (views cost no
copy); outputs are contiguous."""
import numpy as np

from .loader import BLOCK, element_strides, grid_for, has_kernels, launch, reference

_LIMIT = 2 ** 31  # the kernels split flat indices in 32-bit arithmetic


def im2col(x, kernel_size, stride, padding, dilation):
    """cols[n, c, i, j, oh, ow] = x_padded[n, c, oh sh + i dh, ow sw + j dw] (zero padding), shape
    (N, C, kh, kw, OH, OW); one thread per output position. Replaces minigan.nn.conv.im2col (NumPy)."""
    from ..nn.conv import conv_output_size
    out_size = conv_output_size(x.shape[2:], kernel_size, stride, padding, dilation)
    if not has_kernels(x):
        return reference("nn.conv", "im2col")(x, kernel_size, stride, padding, dilation)
    import cupy
    n, c = x.shape[:2]
    cols = cupy.empty((n, c, *kernel_size, *out_size), x.dtype)  # n c kh kw oh ow
    _launch("im2col", x, cols, n * c * out_size[0] * out_size[1],
            (x, *element_strides(x), cols), x.shape, kernel_size, out_size, stride, padding, dilation)
    return cols


def col2im(cols, input_shape, kernel_size, stride, padding, dilation):
    """x[n, c, h, w] = the sum of cols[n, c, i, j, oh, ow] over the taps (i, j) that read (h, w): the
    adjoint of im2col, gathered by one thread per input pixel, without atomics, in a fixed order.
    Replaces minigan.nn.conv.col2im (NumPy)."""
    if not has_kernels(cols):
        return reference("nn.conv", "col2im")(cols, input_shape, kernel_size, stride, padding, dilation)
    import cupy
    x = cupy.empty(tuple(input_shape), cols.dtype)
    _launch("col2im", cols, x, x.size, (cols, *element_strides(cols), x), input_shape, kernel_size,
            cols.shape[-2:], stride, padding, dilation)
    return x


def _launch(kernel, source, out, threads, arrays, input_shape, kernel_size, out_size, stride, padding, dilation):
    if min(out_size) < 1 or threads >= _LIMIT:
        raise ValueError(f"{kernel}: input {source.shape} and output {out.shape} are out of the kernel's range "
                         f"(at least one output position, fewer than 2^31 threads)")
    geometry = (*input_shape, *kernel_size, *out_size, *stride, *padding, *dilation)
    launch("im2col", kernel, out.dtype, (grid_for(threads),), (BLOCK,), (*arrays, *map(np.int32, geometry)))
