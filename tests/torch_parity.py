"""Compare a minigan op with torch's, forward and every input's gradient, in float64.

    assert_matches_torch(lambda a, b: a @ b, lambda a, b: a @ b, [a_array, b_array])

Each array becomes a float64 leaf that requires grad, in both libraries; both outputs get
the same random upstream gradient. Non-tensor arguments (axis, index, slope) are closed over.
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


def check_op(minigan_fn, torch_fn, arrays, rtol=1e-10, atol=1e-12):
    """The op's backward passes gradcheck, its forward and gradients match torch's,
    and float32 inputs give a float32 output."""
    assert minigan.gradcheck(minigan_fn, [minigan.tensor(np.asarray(a, np.float64), requires_grad=True)
                                          for a in arrays])
    assert_matches_torch(minigan_fn, torch_fn, arrays, rtol, atol)
    out = minigan_fn(*(minigan.tensor(np.asarray(a, np.float32), requires_grad=True) for a in arrays))
    assert out.dtype == np.float32, f"float32 inputs gave {out.dtype}"
