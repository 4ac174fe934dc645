import importlib
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan.testing import axes, broadcastable_shapes, distinct_arrays, float_arrays, matmul_shapes, shapes, tensors


@given(data=st.data(), low=st.floats(-5, 0), width=st.floats(1, 5), margin=st.floats(1e-3, 0.04),
       kinks=st.lists(st.floats(-5, 5), max_size=2), distinct=st.booleans())
def test_float_arrays_stay_in_bounds_and_away_from_kinks(data, low, width, margin, kinks, distinct):
    shape = data.draw(shapes(max_dims=2, max_side=3))  # 9 values fit 2 * 0.04 apart in [low, low + 1]
    x = data.draw(float_arrays(shape, low, low + width, kinks=kinks, margin=margin, distinct=distinct))
    assert x.dtype == np.float64 and np.all((low <= x) & (x <= low + width))
    for kink in kinks:
        assert np.all(np.abs(x - kink) >= margin)


@given(data=st.data(), margin=st.floats(1e-3, 0.04))
def test_distinct_float_arrays_have_no_two_values_within_the_margin(data, margin):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))  # 64 values fit 2 * 0.04 apart in [-3, 3]
    x = data.draw(float_arrays(shape, margin=margin, distinct=True))
    assert np.all(np.diff(np.sort(x, axis=None)) >= margin)


@given(data=st.data(), margin=st.floats(1e-3, 0.04))
def test_distinct_arrays_share_no_value_within_the_margin_between_them_either(data, margin):
    array_shapes = data.draw(broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    arrays = data.draw(distinct_arrays(array_shapes, margin=margin))
    assert [a.shape for a in arrays] == list(array_shapes)
    values = np.concatenate([a.reshape(-1) for a in arrays])
    assert np.all(np.diff(np.sort(values)) >= margin) and np.all(np.abs(values) >= margin)  # and from the kink 0


def test_distinct_float_arrays_say_when_the_values_cannot_fit():
    with pytest.raises(ValueError, match=r"float_arrays: 10 values 0.5 apart .* \[0.0, 4.0\]"):
        float_arrays((10,), 0.0, 4.0, margin=0.5, distinct=True)


@given(shape_pair=matmul_shapes())
def test_matmul_shapes_are_accepted_by_np_matmul(shape_pair):
    a, b = shape_pair
    out = np.matmul(np.ones(a), np.ones(b))  # raises if the shapes do not fit
    assert np.ndim(out) == max(len(a), len(b), 2) - (len(a) == 1) - (len(b) == 1)


@given(data=st.data())
def test_broadcastable_shapes_broadcast_and_axes_reduce(data):
    a, b, c = data.draw(broadcastable_shapes(num_shapes=3, max_dims=4))
    assert len(np.broadcast_shapes(a, b, c)) == max(map(len, (a, b, c)))
    np.sum(np.ones(a), axis=data.draw(axes(len(a))))  # raises if the axis is out of range or repeated


@given(t=tensors(shape=(2, 3), low=0.5, high=1.0))
def test_tensors_are_float64_leaves_that_require_grad(t):
    assert t.shape == (2, 3) and t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert np.all((0.5 <= t.numpy()) & (t.numpy() <= 1.0))


# The README's example: a user-defined op, property-tested with the public strategies.
class Cube(minigan.Function):
    def forward(self, a):
        self.save_for_backward(a)
        return a ** 3

    def backward(self, grad):  # d a^3 = 3 a^2 da
        (a,) = self.saved
        return 3 * a * a * grad


@given(x=tensors())
def test_cube(x):
    assert minigan.gradcheck(Cube.apply, [x])


def test_without_hypothesis_the_import_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "minigan.testing")
    with pytest.raises(ImportError, match=r'pip install "minigan\[testing\]"'):
        importlib.import_module("minigan.testing")


@given(x=tensors())
def test_cube_twice(x):  # the README's second-order example: Cube as written is twice differentiable
    assert minigan.gradgradcheck(Cube.apply, [x])


class CubeSavingItsDerivative(Cube):
    """The README's counter-example: the saved 3 a^2 is a constant to the second derivative."""

    def forward(self, a):
        self.save_for_backward(3 * a * a)
        return a ** 3

    def backward(self, grad):
        return grad * self.saved[0]


@given(x=tensors(shape=(2, 3), low=0.5, high=1.0))
def test_a_saved_derivative_passes_gradcheck_and_fails_gradgradcheck(x):
    assert minigan.gradcheck(CubeSavingItsDerivative.apply, [x])
    with pytest.raises(minigan.GradcheckError, match=r"gradgradcheck: input 0, element .*: analytic gradient 0.0, "):
        minigan.gradgradcheck(CubeSavingItsDerivative.apply, [x])


def test_the_readmes_hessian_vector_product():
    x = minigan.randn(5, dtype="float64", requires_grad=True)
    u = minigan.randn(5, dtype="float64")
    f = (x.tanh() ** 2.0).sum() * x.sum()
    (g,) = minigan.grad(f, x, create_graph=True)
    (hvp,) = minigan.grad(g, x, u, retain_graph=True)
    (h,) = minigan.grad(g.sum(), x, create_graph=True)
    (third,) = minigan.grad(h.sum(), x)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x.numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad((xt.tanh() ** 2.0).sum() * xt.sum(), xt, create_graph=True)
    (ht,) = torch.autograd.grad(gt, xt, torch.tensor(u.numpy()), retain_graph=True)
    np.testing.assert_allclose(hvp.numpy(), ht.numpy(), rtol=1e-10)
    (hs,) = torch.autograd.grad(gt.sum(), xt, create_graph=True)
    np.testing.assert_allclose(third.numpy(), torch.autograd.grad(hs.sum(), xt)[0].numpy(), rtol=1e-10)
