import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan as mg
from minigan.testing import broadcastable_shapes, float_arrays


class SquareWithHalfTheGradient(mg.Function):
    """x^2 whose backward forgets the factor 2: what gradcheck is for."""

    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, grad):
        return grad * self.saved[0]


class ScaleSecond(mg.Function):
    """a + 3b with b's gradient wrong (1 instead of 3), a's right."""

    def forward(self, a, b):
        return a + 3 * b

    def backward(self, grad):
        return grad, grad


@given(data=st.data())
def test_a_correct_op_passes(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    a, b = (mg.tensor(data.draw(float_arrays(s)), requires_grad=True) for s in (a_shape, b_shape))
    assert mg.gradcheck(lambda x, y: mg.exp(x) * y, [a, b]) is True


@given(x=float_arrays((2, 3)))
def test_a_wrong_backward_names_the_input_the_element_and_both_values(x):
    with pytest.raises(mg.GradcheckError) as error:
        mg.gradcheck(SquareWithHalfTheGradient.apply, [mg.tensor(x, requires_grad=True)])
    message = str(error.value)
    index = tuple(int(i) for i in re.search(r"element \((\d+), (\d+)\)", message).groups())
    analytic, numerical = map(float, re.search(r"analytic gradient (\S+), numerical (\S+) ", message).groups())
    assert message.startswith("gradcheck: input 0, ")
    v = np.random.default_rng(0).standard_normal(x.shape)  # gradcheck's direction (seed 0)
    assert index == np.unravel_index(np.argmax(np.abs(v * x)), x.shape)  # the worst element
    np.testing.assert_allclose([analytic, numerical], [v[index] * x[index], 2 * v[index] * x[index]], rtol=1e-6)


def test_the_message_names_the_input_whose_gradient_is_wrong():
    a, b = mg.tensor(np.ones(3), requires_grad=True), mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"input 1, element \(\d,\)"):
        mg.gradcheck(ScaleSecond.apply, [a, b])


def test_inputs_that_do_not_require_grad_are_not_checked():
    a, b = mg.tensor(np.ones(3), requires_grad=True), mg.tensor(np.ones(3))
    assert mg.gradcheck(ScaleSecond.apply, [a, b])


class LogWithAFiniteGradient(mg.Function):
    """log, NaN below 0, whose backward is finite (and wrong) everywhere."""

    def forward(self, a):
        return np.log(a)

    def backward(self, grad):
        return grad


def test_a_nan_or_inf_in_either_gradient_fails():
    x = mg.tensor(np.array([-1.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match=r"element \(0,\).*numerical nan"):
            mg.gradcheck(LogWithAFiniteGradient.apply, [x], atol=np.inf)
        with pytest.raises(mg.GradcheckError, match=r"element \(0,\): analytic gradient inf"):
            mg.gradcheck(mg.sqrt, [mg.tensor(np.array([0.0, 4.0]), requires_grad=True)], atol=np.inf)


def test_float32_inputs_are_checked_in_float64_and_left_unchanged():
    x = mg.tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    assert mg.gradcheck(lambda t: t * t * t, [x], atol=1e-7, rtol=1e-6)
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.numpy(), [0.5, 1.5])
