"""Check a backward against central finite differences, in float64.

For a random direction ``v`` (fixed seed) the scalar ``L = sum(fn(*inputs) * v)`` is
differentiated two ways: by ``backward`` and by (L(x + eps) - L(x - eps)) / 2 eps,
one element at a time. Matching vector-Jacobian products for a random ``v`` is
what a correct backward must give.
"""
import numpy as np

from .backend import to_numpy
from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if every input that requires grad gets the numerical gradient; else raise GradcheckError."""
    inputs = [_float64(x) for x in inputs]
    out = fn(*inputs)
    v = out._xp.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    out.backward(v)  # the gradient of sum(out * v) with respect to out is v
    for index, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            analytic = np.zeros(x.shape) if x.grad is None else to_numpy(x.grad.data)
            _compare(index, analytic, _numerical(fn, inputs, x, v, eps), atol, rtol)
    return True


def _float64(x):
    if not isinstance(x, Tensor) or x.dtype.kind != "f":
        return x
    return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)


def _numerical(fn, inputs, x, v, eps):
    """dL/dx by central differences, one element at a time."""
    grad = np.zeros(x.shape)
    flat = x.data.reshape(-1)  # a view: writing it perturbs x
    with no_grad():
        for i in range(flat.size):
            original = flat[i].item()
            flat[i] = original + eps
            plus = float((fn(*inputs).data * v).sum())
            flat[i] = original - eps
            minus = float((fn(*inputs).data * v).sum())
            flat[i] = original
            grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def _compare(index, analytic, numerical, atol, rtol):
    excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
    if excess.size and not (excess.max() <= 0 and np.isfinite(analytic).all()):  # a NaN fails too
        worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)), excess.shape)
        raise GradcheckError(
            f"gradcheck: input {index}, element {tuple(int(i) for i in worst)}: analytic gradient "
            f"{float(analytic[worst])!r}, numerical {float(numerical[worst])!r} (atol={atol}, rtol={rtol})")
