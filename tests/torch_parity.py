"""Compare a minigan op with torch's, forward and every input's gradient, in float64.

    assert_matches_torch(lambda a, b: a @ b, lambda a, b: a @ b, [a_array, b_array])

Each array becomes a float64 leaf that requires grad, in both libraries; both outputs get
the same random upstream gradient. Non-tensor arguments (axis, index, slope) are closed over.
``assert_second_order_matches_torch`` compares Hessian-vector products the same way, and
``check_op`` runs every check of an op, first and second order.
"""
import numpy as np
import pytest

import minigan

torch = pytest.importorskip("torch")  # test modules take torch from here: without it they skip
F = torch.nn.functional
torch.set_num_threads(1)


def assert_matches_torch(minigan_fn, torch_fn, arrays, rtol=1e-10, atol=1e-12, seed=0):
    """``minigan_fn(*tensors)`` equals ``torch_fn(*torch_tensors)``, and so does each input's gradient."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    ours = [minigan.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = minigan_fn(*ours), torch_fn(*theirs)
    assert out.shape == tuple(expected.shape), f"forward shape {out.shape}, torch {tuple(expected.shape)}"
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    v = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(v)
    expected.backward(torch.from_numpy(np.asarray(v)))
    for i, (x, t) in enumerate(zip(ours, theirs)):
        grad = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        torch_grad = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(grad, torch_grad, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


def check_op(minigan_fn, torch_fn, arrays, rtol=1e-10, atol=1e-12, second_order=True):
    """The op's backward passes gradcheck, its forward and gradients match torch's, float32 inputs
    give a float32 output, and (unless ``second_order=False``) ``check_second_order`` passes."""
    assert minigan.gradcheck(minigan_fn, [minigan.tensor(np.asarray(a, np.float64), requires_grad=True)
                                          for a in arrays])
    assert_matches_torch(minigan_fn, torch_fn, arrays, rtol, atol)
    out = minigan_fn(*(minigan.tensor(np.asarray(a, np.float32), requires_grad=True) for a in arrays))
    assert out.dtype == np.float32, f"float32 inputs gave {out.dtype}"
    if second_order:
        check_second_order(minigan_fn, torch_fn, arrays, rtol=max(rtol, 1e-9))


def _hessian_vector_products(grad, outputs_of, inputs, v, u):
    """grad(grad(f(x), x, v, create_graph=True), x, u): the Hessian of sum(f(x) v) times u, every input
    at once (with the mixed terms). First-order gradients that carry no graph add nothing."""
    first = grad(outputs_of(inputs), inputs, v, create_graph=True, allow_unused=True)
    pairs = [(g, w) for g, w in zip(first, u) if g is not None and g.requires_grad]
    if not pairs:
        return [None] * len(inputs)
    return grad([g for g, _ in pairs], inputs, [w for _, w in pairs], allow_unused=True)


def assert_second_order_matches_torch(minigan_fn, torch_fn, arrays, rtol=1e-9, atol=1e-12, seed=0):
    """The Hessian-vector products of ``minigan_fn`` equal torch's: for random v and u, the gradient of
    sum(grad(sum(f(x) v), x) u) with respect to every input x."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(minigan_fn(*(minigan.tensor(a) for a in arrays)).shape)
    u = [rng.standard_normal(a.shape) for a in arrays]
    ours = _hessian_vector_products(minigan.grad, lambda xs: minigan_fn(*xs),
                                    [minigan.tensor(a, requires_grad=True) for a in arrays], minigan.tensor(v),
                                    [minigan.tensor(w) for w in u])
    theirs = _hessian_vector_products(torch.autograd.grad, lambda xs: torch_fn(*xs),
                                      [torch.tensor(a, requires_grad=True) for a in arrays], torch.from_numpy(v),
                                      [torch.from_numpy(w) for w in u])
    for i, (a, h, t) in enumerate(zip(arrays, ours, theirs)):
        h = np.zeros(a.shape) if h is None else h.numpy()
        t = np.zeros(a.shape) if t is None else t.detach().numpy(force=True)  # force: torch's ZeroTensor
        np.testing.assert_allclose(h, t, rtol=rtol, atol=atol, err_msg=f"Hessian-vector product of input {i}")


def check_second_order(minigan_fn, torch_fn, arrays, rtol=1e-9, atol=1e-12):
    """The op's backward of its backward passes gradgradcheck, and its Hessian-vector products match torch's."""
    assert minigan.gradgradcheck(minigan_fn, [minigan.tensor(np.asarray(a, np.float64), requires_grad=True)
                                              for a in arrays])
    assert_second_order_matches_torch(minigan_fn, torch_fn, arrays, rtol, atol)
