import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import check_op, torch

import minigan as mg
from minigan.testing import float_arrays, matmul_shapes


@pytest.mark.parametrize("ours, theirs", [(mg.matmul, torch.matmul), (lambda a, b: a @ b, lambda a, b: a @ b)])
@given(data=st.data())
def test_matmul_of_vectors_matrices_and_batches_matches_gradcheck_and_torch(ours, theirs, data):
    a_shape, b_shape = data.draw(matmul_shapes())
    check_op(ours, theirs, [data.draw(float_arrays(a_shape)), data.draw(float_arrays(b_shape))])


@given(data=st.data())
def test_an_ndarray_at_the_left_calls_rmatmul(data):
    a_shape, b_shape = data.draw(matmul_shapes())
    constant = data.draw(float_arrays(a_shape))
    check_op(lambda b: constant @ b, lambda b: torch.from_numpy(constant) @ b, [data.draw(float_arrays(b_shape))])


@given(data=st.data())
def test_a_constant_operand_gets_no_gradient_and_the_other_its_own(data):
    a_shape, b_shape = data.draw(matmul_shapes())
    a, b = data.draw(float_arrays(a_shape)), data.draw(float_arrays(b_shape))
    x, w = mg.tensor(a, requires_grad=True), mg.tensor(b)
    (x @ w).sum().backward()
    assert w.grad is None
    assert mg.gradcheck(lambda t: t @ w, [x])
    assert mg.gradgradcheck(lambda t: (t @ w) * (t @ w), [x])


@pytest.mark.parametrize("a, b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 2, 3), (5, 3, 4)), ((), (3,))])
def test_a_shape_mismatch_names_matmul_and_both_shapes(a, b):
    with pytest.raises(ValueError, match="MatMul: .*" + re.escape(f"(input shapes {a}, {b})")):
        mg.zeros(a) @ mg.zeros(b)
