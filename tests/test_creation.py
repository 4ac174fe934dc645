import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from minigan.testing import float_arrays, shapes


def test_tensor_takes_torchs_dtypes_from_python_values():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32  # the default float dtype
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor([True]).dtype == np.bool_
    assert mg.tensor([1, 2], dtype=np.float64).dtype == np.float64


@given(x=float_arrays((2, 3)))
def test_tensor_keeps_an_arrays_dtype_and_copies_it(x):
    t = mg.tensor(x, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf
    original = x.copy()
    x += 1.0
    np.testing.assert_array_equal(t.numpy(), original)
    assert mg.tensor(t).dtype == np.float64 and not mg.tensor(t).requires_grad
    assert mg.tensor(x, dtype=np.float16).dtype == np.float16


@pytest.mark.parametrize("make, fill", [(mg.zeros, 0.0), (mg.ones, 1.0)])
@given(shape=shapes())
def test_zeros_and_ones_take_a_shape_as_varargs_or_a_tuple(make, fill, shape):
    for t in (make(*shape), make(shape), make(list(shape), dtype=np.float64)):
        np.testing.assert_array_equal(t.numpy(), np.full(shape, fill))
    assert make(*shape).dtype == np.float32 and make(shape, dtype=np.float64).dtype == np.float64


@given(shape=shapes(), value=st.floats(-10, 10))
def test_full_fills_and_the_likes_copy_shape_dtype_and_device(shape, value):
    t = mg.full(shape, value, dtype=np.float64)
    np.testing.assert_array_equal(t.numpy(), np.full(shape, value))
    for like in (mg.zeros_like(t), mg.ones_like(t), mg.full_like(t, value), mg.randn_like(t), mg.rand_like(t)):
        assert (like.shape, like.dtype, like.device) == (shape, np.float64, "cpu")
    assert mg.zeros_like(t, dtype=np.float32).dtype == np.float32
    assert mg.full(3, value).shape == (3,)


def test_arange_is_integer_for_integers_and_float_otherwise():
    np.testing.assert_array_equal(mg.arange(5).numpy(), np.arange(5))
    assert mg.arange(5).dtype == np.int64
    np.testing.assert_allclose(mg.arange(1, 2, 0.25).numpy(), np.arange(1, 2, 0.25))
    assert mg.arange(1, 2, 0.25).dtype == np.float32


@pytest.mark.parametrize("make", [mg.randn, mg.rand])
def test_random_tensors_follow_the_generator_they_are_given(make):
    a = make(2, 3, generator=mg.Generator(7), dtype=np.float64, requires_grad=True)
    b = make((2, 3), generator=mg.Generator(7), dtype=np.float64)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.requires_grad and a.shape == (2, 3) and make(4).dtype == np.float32
    assert not np.array_equal(a.numpy(), make(2, 3, generator=mg.Generator(8), dtype=np.float64).numpy())


def test_rand_is_uniform_on_0_1_and_randn_standard_normal():
    u = mg.rand(100_000, generator=mg.Generator(0)).numpy()
    z = mg.randn(100_000, generator=mg.Generator(0)).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02
