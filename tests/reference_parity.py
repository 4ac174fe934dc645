"""Hold a fast path to its reference: the same call with the fast paths on and under
minigan.reference_mode(), the output and every input's gradient compared, in float64.

    assert_matches_reference(lambda x, w: F.conv2d(x, w), [x_array, w_array], path="WinogradConv2d")
"""
import numpy as np

import minigan


def outputs_and_gradients(fn, arrays, path=None, seed=0):
    """fn's output and each input's gradient (zeros where none) for a random upstream gradient, as NumPy
    arrays; ``path``: the name of the Function that must make the output."""
    tensors = [minigan.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    if path is not None:
        assert out.grad_fn.name == path, f"ran {out.grad_fn.name}, expected {path}"
    out.backward(np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype))
    return [out.numpy()] + [np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in tensors]


def assert_matches_reference(fn, arrays, path, rtol=1e-10, atol=1e-10):
    """fn on the fast path ``path`` gives the reference's output and gradients."""
    arrays = [np.asarray(a, np.float64) for a in arrays]
    fast = outputs_and_gradients(fn, arrays, path)
    with minigan.reference_mode():
        reference = outputs_and_gradients(fn, arrays)
    for name, got, want in zip(["output"] + [f"gradient of input {i}" for i in range(len(arrays))], fast, reference):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * max(1.0, np.abs(want).max(initial=0)),
                                   err_msg=name)
