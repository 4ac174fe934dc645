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


LAYOUTS = {  # the same values in memory laid out otherwise
    "fortran": np.asfortranarray,
    "transposed": lambda a: np.ascontiguousarray(a.T).T,
    "strided": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradgradcheck])
@given(x=float_arrays((3, 4)))
def test_inputs_are_perturbed_in_their_own_memory_layout(layout, check, x):
    laid_out = LAYOUTS[layout](x)
    assert not laid_out.flags.c_contiguous and np.array_equal(laid_out, x)
    t = mg.Tensor(laid_out, requires_grad=True)  # as minigan's ops make such tensors (mg.tensor copies)
    assert check(lambda a: (a * a * mg.exp(a)).sum(axis=0), [t])
    with pytest.raises(mg.GradcheckError, match="numerical"):
        check(lambda a: SquareWithHalfTheGradient.apply(a) * a, [t])
    np.testing.assert_array_equal(t.numpy(), x)  # left as it was


@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradgradcheck])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_hook_on_an_input_is_part_of_what_is_checked(check, dtype):
    x = mg.tensor(np.random.default_rng(1).random((3, 4)).astype(dtype), requires_grad=True)
    assert check(lambda t: (t * t).sum(), [x])
    x.register_hook(lambda g: 2 * g)  # a planted wrong gradient
    with pytest.raises(mg.GradcheckError, match=f"{check.__name__}: input 0"):
        check(lambda t: (t * t).sum(), [x])


def test_gradcheck_leaves_grad_alone():
    x = mg.tensor(np.ones(3), requires_grad=True)
    x.grad = mg.tensor(np.full(3, 7.0))
    assert mg.gradcheck(lambda t: t * t, [x]) and mg.gradgradcheck(lambda t: t * t, [x])
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 7.0))


class ExpSavingACopy(mg.Function):
    """exp whose backward reads a copy of the output: right to first order, but the copy is a
    constant, so the second derivative misses the term it contributes."""

    def forward(self, a):
        out = np.exp(a)
        self.save_for_backward(out.copy())
        return out

    def backward(self, grad):
        return grad * self.saved[0]


class DetachesItsGradient(mg.Function):
    """x^2 whose backward reads only the values of the incoming gradient: right to first order,
    but its result does not depend on that gradient in the graph."""

    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, grad):
        return 2 * self.saved[0] * (grad.detach() if isinstance(grad, mg.Tensor) else grad)


@given(data=st.data())
def test_gradgradcheck_passes_a_correct_op(data):
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=3, max_side=3))
    a, b = (mg.tensor(data.draw(float_arrays(s)), requires_grad=True) for s in (a_shape, b_shape))
    assert mg.gradgradcheck(lambda x, y: mg.exp(x) * y * x, [a, b]) is True
    assert mg.gradgradcheck(lambda x, y: mg.exp(x) * y * x, [a, b], grad_outputs=np.ones(np.broadcast_shapes(
        a_shape, b_shape))) is True


@given(x=float_arrays((2, 3)))
def test_gradgradcheck_finds_a_missing_second_order_term_and_names_it(x):
    t = mg.tensor(x, requires_grad=True)
    assert mg.gradcheck(ExpSavingACopy.apply, [t])
    with pytest.raises(mg.GradcheckError) as error:
        mg.gradgradcheck(ExpSavingACopy.apply, [t])
    message = str(error.value)
    assert message.startswith("gradgradcheck: input 0, element (")
    analytic, numerical = map(float, re.search(r"analytic gradient (\S+), numerical (\S+) ", message).groups())
    assert analytic == 0.0 and abs(numerical) > 0  # the term through the output is missing


def test_gradgradcheck_checks_the_backward_against_its_gradient_argument_too():
    t = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
    assert mg.gradcheck(DetachesItsGradient.apply, [t])
    with pytest.raises(mg.GradcheckError, match=r"gradgradcheck: grad_outputs, element \(\d,\)"):
        mg.gradgradcheck(DetachesItsGradient.apply, [t])


def test_gradgradcheck_of_a_function_linear_in_its_inputs_checks_only_the_gradient_argument():
    a, b = mg.tensor(np.ones(3), requires_grad=True), mg.tensor(np.arange(3.0))
    assert mg.gradgradcheck(lambda x, y: x * 2.0 + y, [a, b])
    assert mg.gradgradcheck(lambda y: y * 2.0, [b])  # nothing requires grad: nothing to check
