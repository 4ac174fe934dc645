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
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .creation import tensor


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
        grid = np.arange(low, high, 2 * margin) + margin / 2
        grid = grid[np.min(np.abs(grid[:, None] - np.asarray(kinks or [np.inf])[None]), axis=1) >= margin]
        slots = hnp.arrays(np.int64, shape, elements=st.integers(0, grid.size - 1), unique=True)
        return slots.map(lambda index: grid[index].astype(dtype))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    for kink in kinks:
        elements = elements.filter(lambda v, k=kink: abs(v - k) >= margin)
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def tensors(draw, shape=None, requires_grad=True, **array_kwargs):
    """A float64 minigan.Tensor (of a drawn shape unless ``shape`` is given)."""
    shape = draw(shapes()) if shape is None else shape
    return tensor(draw(float_arrays(shape, **array_kwargs)), requires_grad=requires_grad)
