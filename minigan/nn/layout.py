"""Memory layouts for the products of conv.py on NumPy: channels-last copies, and the
space-to-depth image on which a strided transposed convolution needs no col2im.

A transposed convolution (or conv2d's input gradient) multiplies each input pixel's channels by
the weight and adds the k x k result into the output around s times its position: conv.py
writes every product out (col2im's columns, k k O numbers per input pixel) and adds them up
afterwards. When the kernel is a multiple of the stride, cut the padded output into s x s blocks
and stack each block's pixels as channels: the output (N, O, s H2, s W2) becomes the matrix of
rows (n P Q) and columns (di dj o), and input pixel (P, Q) adds to the blocks (P + a, Q + b) for
a, b < k/s. So block (P, Q) sums the products of the input pixels (P - a, Q - b): rows of the
input shifted by a W2 + b, side by side, times the taps' weights stacked, one product for a few
rows at a time so that the gathered rows stay in cache. The price: the input is padded to (H2, W2)
with zeros (the k/s - 1 last rows and columns of each image), products that add nothing.
"""
import math

import numpy as np

CHUNK_BYTES = 1 << 20  # a core's L2 cache: the blocks of rows that are copied or multiplied at a time
MAX_WASTE = 1.15  # padded / real input pixels: 17 17 / 16 16 = 1.13 for 16x16 inputs and k = 2s
MIN_DEPTH = 64  # the products' inner and outer channel counts: thinner ones run far below BLAS's peak


def copy_channels_last(out, x):
    """out (N, H, W, C) = x (N, C, H, W). From channels-first memory, a few channels at a time: each
    reads its own plane, and planes a multiple of 4 KiB apart share cache sets, so all C at once
    would evict each other's lines (12 times slower for 64 planes of 32x32 floats)."""
    plane = x.strides[1]  # bytes between channels
    step = x.shape[1] if plane == x.itemsize else max(8, (16 << 10) // max(plane, 1))  # ~16 KiB of planes
    for start in range(0, x.shape[1], step):
        out[..., start:start + step] = x[:, start:start + step].transpose(0, 2, 3, 1)


class Blocks:
    """A transposed convolution of x (N, C, H, W) to output_size, with a kernel that is a multiple of
    the stride, on the space-to-depth image of its padded output: (N, H2, W2) blocks of s x s pixels."""

    @staticmethod
    def fit(x, out_channels, kernel_size, output_size, stride, padding, dilation):
        """The Blocks for this geometry, or None where conv.py's col2im is needed or faster: other
        array modules than NumPy (not measured there), dilation, a kernel that is not a multiple of
        its stride, a padded output that is not whole blocks, thin products or many padded pixels."""
        if not isinstance(x, np.ndarray) or dilation != (1, 1):
            return None
        if any(k % s or (n + 2 * p - k) % s for n, k, s, p in zip(output_size, kernel_size, stride, padding)):
            return None
        if min(x.shape[1], stride[0] * stride[1] * out_channels) < MIN_DEPTH:
            return None
        blocks = Blocks(x.shape, kernel_size, output_size, stride, padding)
        return blocks if blocks.rows <= MAX_WASTE * x.shape[0] * math.prod(x.shape[2:]) else None

    def __init__(self, x_shape, kernel_size, output_size, stride, padding):
        n, _, h, w = x_shape
        self.n, self.in_size, self.output_size = n, (h, w), output_size
        self.stride, self.padding = stride, padding
        self.taps = tuple(k // s for k, s in zip(kernel_size, stride))  # the kernel on blocks
        self.size = (h + self.taps[0] - 1, w + self.taps[1] - 1)  # H2, W2
        self.rows = n * self.size[0] * self.size[1]
        self.shifts = [a * self.size[1] + b for a in range(self.taps[0]) for b in range(self.taps[1])]

    def tap_weights(self, w_matrix):
        """w_matrix (C, (kh kw O)), from w[c, o, i, j], as the taps' matrices c x (di dj o) stacked,
        (a b c) x (di dj o): w[c, o, s a + di, s b + dj]."""
        (th, tw), (sh, sw) = self.taps, self.stride
        w = w_matrix.reshape(len(w_matrix), th, sh, tw, sw, -1).transpose(1, 3, 0, 2, 4, 5)  # a b c di dj o
        return w.reshape(th * tw * len(w_matrix), -1)

    # y_blocks[n, P, Q, (di dj o)] = sum_{a b c} x[n, c, P - a, Q - b] w[c, o, s a + di, s b + dj]
    def conv_transpose2d(self, x, w_matrix):
        """The transposed convolution of x with w_matrix = conv._weight_matrix(w). In rows (n P Q) of
        x zero-padded to (H2, W2), block row r reads row r - shift_t for each tap t = (a, b): a block of
        rows gathers its taps' rows side by side (in cache) and multiplies them by the taps' weights
        stacked, one product whose inner dimension is every tap's channels. The largest shift of zero
        rows comes before the first."""
        (h, w), dtype, last = self.in_size, np.result_type(x, w_matrix), self.shifts[-1]
        x_rows = np.zeros((last + self.rows, x.shape[1]), dtype)  # zero rows, then (n P Q) c
        copy_channels_last(x_rows[last:].reshape(self.n, *self.size, -1)[:, :h, :w], x)
        weights = self.tap_weights(w_matrix)  # (t c) (di dj o)
        image = np.empty((self.rows, weights.shape[1]), dtype)  # (n P Q) (di dj o)
        step = max(1, CHUNK_BYTES // (image.shape[1] * image.itemsize))
        taps = np.empty((step, len(self.shifts), x.shape[1]), dtype)  # r t c
        for start in range(0, self.rows, step):
            stop = min(start + step, self.rows)
            for t, shift in enumerate(self.shifts):  # taps[r, t] = input row r - shift_t
                taps[:stop - start, t] = x_rows[last + start - shift:last + stop - shift]
            np.matmul(taps[:stop - start].reshape(stop - start, -1), weights, out=image[start:stop])
        return self._pixels(image)

    def _pixels(self, image):
        """The block image (n P Q) x (di dj o) as (N, O) + output_size, without the padding (a view
        of channels-last memory)."""
        (sh, sw), (ph, pw), (h, w) = self.stride, self.padding, self.output_size
        blocks = image.reshape(self.n, *self.size, sh, sw, -1)  # n P Q di dj o
        padded = np.ascontiguousarray(blocks.transpose(0, 1, 3, 2, 4, 5))  # n P di Q dj o
        padded = padded.reshape(self.n, self.size[0] * sh, self.size[1] * sw, -1)
        return padded[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)
