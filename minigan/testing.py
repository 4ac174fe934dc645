"""Hypothesis strategies for property-testing ops, minigan's own and yours.

    from hypothesis import given
    from minigan.testing import broadcastable_shapes, float_arrays
    import hypothesis.strategies as st

    @given(st.data())
    def test_my_op(data):
        a_shape, b_shape = data.draw(broadcastable_shapes())
        a = minigan.tensor(data.draw(float_arrays(a_shape)), requires_grad=True)
        ...
        assert minigan.gradcheck(my_op, [a, b])
        assert minigan.gradgradcheck(my_op, [a, b])  # and its backward's own backward

Second-order checks need the inputs away from where the first derivative jumps: the kinks of
relu and abs (``float_arrays(kinks=...)``) and the ties of max and maximum (``distinct=True``,
``distinct_arrays``).
"""
import math
import typing

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:
    raise ImportError('minigan.testing needs hypothesis: pip install "minigan[testing]" (in a checkout: '
                      'pip install -e ".[testing]")') from e

from .creation import tensor
from .nn.conv import conv_output_size, conv_transpose_output_size, pair


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Array shapes; sides of 1 are as likely as any, so broadcasting corners come up."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """A tuple of ``num_shapes`` shapes that broadcast together."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side).map(lambda s: s.input_shapes)


@st.composite
def matmul_shapes(draw, max_batch_dims=2, max_side=5):
    """Shapes ``(a, b)`` that ``a @ b`` accepts: vectors, matrices and broadcast batches."""
    n, k, m = (draw(st.integers(1, max_side)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=max_batch_dims, max_side=3))
    a = (k,) if draw(st.booleans()) and not batch_a else batch_a + (n, k)
    b = (k,) if draw(st.booleans()) and not batch_b else batch_b + (k, m)
    return a, b


def float_arrays(shape, low=-3.0, high=3.0, dtype=np.float64, kinks=(0.0,), margin=1e-3, distinct=False):
    """Float arrays in [low, high] with every value at least ``margin`` from each of ``kinks``
    (where relu, abs and their kin have no derivative). ``distinct=True`` also keeps every
    two values ``margin`` apart, so max, min and sort have no ties."""
    if distinct:
        grid = np.arange(low + margin / 2, high, 2 * margin)
        grid = grid[np.min(np.abs(grid[:, None] - np.asarray(kinks or [np.inf])[None]), axis=1) >= margin]
        if grid.size < np.prod(shape):
            raise ValueError(f"float_arrays: {int(np.prod(shape))} values {margin} apart and from the kinks "
                             f"do not fit in [{low}, {high}]")
        slots = hnp.arrays(np.int64, shape, elements=st.integers(0, grid.size - 1), unique=True)
        return slots.map(lambda index: grid[index].astype(dtype))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    for kink in kinks:
        elements = elements.filter(lambda v, k=kink: abs(v - k) >= margin)
    return hnp.arrays(dtype, shape, elements=elements)


def distinct_arrays(array_shapes, low=-3.0, high=3.0, dtype=np.float64, kinks=(0.0,), margin=1e-3):
    """A tuple of float arrays of ``array_shapes`` in which no two values, in one array or in two,
    are within ``margin`` of each other (or of a kink): maximum(a, b) and minimum(a, b) of broadcast
    operands, max and maxout then have no ties, so their first derivatives are constant around the
    values drawn, as gradgradcheck's finite differences of them need."""
    sizes = [math.prod(shape) for shape in array_shapes]
    splits = np.cumsum(sizes)[:-1]
    return float_arrays((sum(sizes),), low, high, dtype, kinks, margin, distinct=True).map(
        lambda values: tuple(part.reshape(shape) for part, shape in zip(np.split(values, splits), array_shapes)))


@st.composite
def tensors(draw, shape=None, requires_grad=True, **array_kwargs):
    """A float64 minigan.Tensor (of a drawn shape unless ``shape`` is given)."""
    shape = draw(shapes()) if shape is None else shape
    return tensor(draw(float_arrays(shape, **array_kwargs)), requires_grad=requires_grad)


def axes(ndim, allow_none=True):
    """An ``axis`` argument for a reduction over ``ndim`` dimensions: None (all), one axis
    (negative ones too) or a tuple of distinct axes."""
    choices = [st.none()] if allow_none or ndim == 0 else []
    if ndim:
        choices += [st.integers(-ndim, ndim - 1), hnp.valid_tuple_axes(ndim, min_size=1)]
    return st.one_of(choices)


class ConvConfig(typing.NamedTuple):
    """One conv2d (or, with ``transposed``, conv_transpose2d) call: shapes and geometry.

    stride, padding and dilation are ints or (h, w) pairs, as drawn; ``kwargs`` passes them to
    minigan's or torch's function alike: ``F.conv2d(x, w, b, **cfg.kwargs)``."""
    transposed: bool
    batch: int
    in_channels: int
    out_channels: int
    size: tuple
    kernel_size: tuple
    stride: object
    padding: object
    dilation: object
    output_padding: tuple = (0, 0)

    @property
    def x_shape(self):
        return (self.batch, self.in_channels) + self.size

    @property
    def weight_shape(self):
        channels = (self.in_channels, self.out_channels) if self.transposed else (self.out_channels, self.in_channels)
        return channels + self.kernel_size

    @property
    def kwargs(self):
        kwargs = dict(stride=self.stride, padding=self.padding, dilation=self.dilation)
        return dict(kwargs, output_padding=self.output_padding) if self.transposed else kwargs

    @property
    def output_size(self):
        geometry = [pair(self.stride), pair(self.padding)] + ([self.output_padding] if self.transposed else [])
        size_of = conv_transpose_output_size if self.transposed else conv_output_size
        return size_of(self.size, self.kernel_size, *geometry, pair(self.dilation))

    @property
    def empty(self):
        """True when the output would have no pixels (the functions raise ValueError)."""
        return min(self.output_size) < 1


def _int_or_pair(low, high):
    side = st.integers(low, high)
    return st.one_of(side, st.tuples(side, side))


@st.composite
def conv_configs(draw, transposed=False, max_batch=3, max_channels=4, max_size=9, max_kernel=5, max_stride=3,
                 max_padding=2, max_dilation=2):
    """ConvConfig: batch 1..max_batch, channels 1..max_channels, input sides 1..max_size, kernel sides
    1..max_kernel, stride 1..max_stride, padding 0..max_padding, dilation 1..max_dilation, and for
    transposed ones every valid output_padding (smaller than stride or dilation). Some configs
    have an empty output: filter them with ``assume(not cfg.empty)`` or check that they raise."""
    batch, c_in, c_out = (draw(st.integers(1, n)) for n in (max_batch, max_channels, max_channels))
    size = draw(st.tuples(st.integers(1, max_size), st.integers(1, max_size)))
    kernel = draw(st.tuples(st.integers(1, max_kernel), st.integers(1, max_kernel)))
    stride, padding = draw(_int_or_pair(1, max_stride)), draw(_int_or_pair(0, max_padding))
    dilation = draw(_int_or_pair(1, max_dilation))
    output_padding = (0, 0)
    if transposed:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(pair(stride), pair(dilation)))
    return ConvConfig(transposed, batch, c_in, c_out, size, kernel, stride, padding, dilation, output_padding)


@st.composite
def pool_configs(draw, max_batch=3, max_channels=4, max_size=9, max_kernel=4, max_stride=3, max_dilation=2):
    """(x_shape, kwargs) for max_pool2d/avg_pool2d: kernel_size, stride (None: the kernel size), padding
    at most half the kernel (as torch requires) and dilation (for max_pool2d). Every window holds at
    least one input pixel: padding only on axes without dilation, where a gap could skip them all."""
    kernel = draw(st.tuples(st.integers(1, max_kernel), st.integers(1, max_kernel)))
    dilation = draw(_int_or_pair(1, max_dilation))
    padding = tuple(draw(st.integers(0, k // 2 if d == 1 else 0)) for k, d in zip(kernel, pair(dilation)))
    reach = [d * (k - 1) + 1 - 2 * p for k, p, d in zip(kernel, padding, pair(dilation))]
    size = tuple(draw(st.integers(max(1, r), max(r, max_size))) for r in reach)  # room for one window
    kwargs = dict(kernel_size=kernel, stride=draw(st.none() | _int_or_pair(1, max_stride)), padding=padding,
                  dilation=dilation)
    return (draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels))) + size, kwargs
