"""Matrix product with np.matmul's rules: a 1-D operand is a vector, leading axes are batches
that broadcast. out[..., i, j] = sum_k a[..., i, k] b[..., k, j].
"""
from ..backend import array_module
from ..tensor import Function
from .elementwise import unbroadcast


class MatMul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return array_module(a).matmul(a, b)

    # d(ab) = da b + a db: grad_a = grad b^T, grad_b = a^T grad, each summed over broadcast batches
    def backward(self, grad):
        a, b = self.saved
        xp = array_module(grad)
        a2 = a[None, :] if a.ndim == 1 else a  # a vector a is the matrix 1 x k
        b2 = b[:, None] if b.ndim == 1 else b  # a vector b is the matrix k x 1
        grad = grad[..., None] if b.ndim == 1 else grad  # ... n 1
        grad = grad[..., None, :] if a.ndim == 1 else grad  # ... 1 m
        needs_a, needs_b = self.needs_input_grad
        ga = unbroadcast(grad @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if needs_a else None
        gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ grad, b2.shape).reshape(b.shape) if needs_b else None
        return ga, gb


def matmul(a, b):
    """``a @ b`` as np.matmul: vectors, matrices and broadcast batches of matrices."""
    return MatMul.apply(a, b)
