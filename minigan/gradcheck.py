"""Check a backward against central finite differences, in float64.

For a random direction ``v`` (fixed seed) the scalar ``L = sum(fn(*inputs) * v)`` is
differentiated two ways: by backward and by (L(x + eps) - L(x - eps)) / 2 eps,
one element at a time. Matching vector-Jacobian products for a random ``v`` is
what a correct backward must give. ``gradgradcheck`` does the same for the function
that returns that vector-Jacobian product, computed with ``create_graph=True``: its
backward is the backward of the backward.

The inputs are checked as given: perturbed in place, whatever their memory layout, with
their hooks; float16 and float32 inputs become float64 copies that keep their hooks.
"""
import numpy as np

from .backend import to_numpy
from .ops.shape import concatenate
from .tensor import Tensor, enable_grad, grad, no_grad


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if every input that requires grad gets the numerical gradient; else raise GradcheckError."""
    return _check("gradcheck", fn, [_float64(x) for x in inputs], eps, atol, rtol, seed)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if the vector-Jacobian product of ``fn`` (the gradients of the inputs that require grad, for
    the output's gradient ``grad_outputs``, random by default) has, with respect to every input and to
    ``grad_outputs``, the derivatives that central differences give; else raise GradcheckError."""
    inputs = [_float64(x) for x in inputs]
    differentiated = [i for i, x in enumerate(inputs) if _requires_grad(x)]
    if not differentiated:
        return True
    out = fn(*inputs)
    v = np.random.default_rng(seed).standard_normal(out.shape) if grad_outputs is None else grad_outputs
    v = Tensor(out._xp.array(v.data if isinstance(v, Tensor) else v, dtype=np.float64), requires_grad=True)

    def vector_jacobian_product(*args):
        *xs, v = args
        with enable_grad():
            out = fn(*xs)
            wrt = [xs[i] for i in differentiated]
            grads = grad(out, wrt, v, create_graph=True, allow_unused=True) if out.requires_grad else [None] * len(wrt)
            return concatenate([Tensor(x._xp.zeros(x.size)) if g is None else g.reshape(-1)
                                for x, g in zip(wrt, grads)])

    return _check("gradgradcheck", vector_jacobian_product, inputs + [v], eps, atol, rtol, seed + 1,
                  names={len(inputs): "grad_outputs"})


def _requires_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


def _float64(x):
    """A float Tensor in float64: itself, or a float64 copy that requires grad alike and keeps its hooks."""
    if not isinstance(x, Tensor) or x.dtype.kind != "f" or x.dtype == np.float64:
        return x
    copy = Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
    copy._hooks = list(x._hooks)
    return copy


def _check(name, fn, inputs, eps, atol, rtol, seed, names=None):
    out = fn(*inputs)
    v = out._xp.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    checked = [x for x in inputs if _requires_grad(x)]
    # the gradient of sum(out * v) with respect to out is v
    grads = grad(out, checked, v, allow_unused=True) if out.requires_grad else [None] * len(checked)
    analytic = iter(np.zeros(x.shape) if g is None else to_numpy(g.data) for x, g in zip(checked, grads))
    for index, x in enumerate(inputs):
        if _requires_grad(x):
            label = (names or {}).get(index, f"input {index}")
            _compare(f"{name}: {label}", next(analytic), _numerical(fn, inputs, x, v, eps), atol, rtol)
    return True


def _numerical(fn, inputs, x, v, eps):
    """dL/dx by central differences, one element at a time, written into x's own array."""
    grad = np.zeros(x.shape)
    with no_grad():
        for i in np.ndindex(x.shape):
            original = x.data[i].item()
            x.data[i] = original + eps
            plus = float((fn(*inputs).data * v).sum())
            x.data[i] = original - eps
            minus = float((fn(*inputs).data * v).sum())
            x.data[i] = original
            grad[i] = (plus - minus) / (2 * eps)
    return grad


def _compare(where, analytic, numerical, atol, rtol):
    excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
    if excess.size and not (excess.max() <= 0 and np.isfinite(analytic).all()):  # a NaN fails too
        worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)), excess.shape)
        raise GradcheckError(
            f"{where}, element {tuple(int(i) for i in worst)}: analytic gradient "
            f"{float(analytic[worst])!r}, numerical {float(numerical[worst])!r} (atol={atol}, rtol={rtol})")
