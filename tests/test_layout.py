import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from minigan.nn.fast import layout
from minigan.nn.fast.layout import copy_channels_last
from minigan.testing import float_arrays


@given(data=st.data(), order=st.permutations(range(4)))
def test_copy_channels_last_from_any_layout(data, order):
    shape = tuple(data.draw(st.integers(1, 5)) for _ in range(3)) + (data.draw(st.integers(1, 40)),)
    x = np.ascontiguousarray(data.draw(float_arrays(shape, kinks=())).transpose(order))
    x = x.transpose(np.argsort(order))  # the same values, in memory order `order`
    out = np.empty(shape[:1] + shape[2:] + shape[1:2])
    copy_channels_last(out, x)
    np.testing.assert_array_equal(out, x.transpose(0, 2, 3, 1))


@given(n=st.integers(1, 9), nbytes=st.integers(0, 10 * layout.CHUNK_BYTES))
def test_over_batch_covers_the_batch_once_in_order(n, nbytes):
    batches = []
    layout.over_batch(np, batches.append, n, nbytes)
    assert np.concatenate([np.arange(n)[batch] for batch in batches]).tolist() == list(range(n))
    assert len(batches) == max(1, min(n, -(-nbytes // layout.CHUNK_BYTES)))
