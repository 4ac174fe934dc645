import numpy as np
import pytest
from hypothesis import given

import minigan as mg
from minigan import backend
from minigan.testing import float_arrays


def leaf(*values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    x = leaf(1.5)
    y = x
    for _ in range(100_000):
        y = -y
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])  # (-1)^100000


@given(x=float_arrays((3,)))
def test_a_tensor_used_twice_gets_both_contributions(x):
    def graph(t):
        e = mg.exp(t)
        return (e * t + e) * t  # t feeds two ops, and so does e
    assert mg.gradcheck(graph, [mg.tensor(x, requires_grad=True)])
    t = mg.tensor(x, requires_grad=True)
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * x)


def test_the_graph_is_freed_after_backward_and_a_second_one_says_so():
    x = leaf(2.0)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_leaves_accumulate():
    x = leaf(2.0, 3.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)


def test_backward_on_a_non_scalar_needs_a_grad():
    x = leaf(1.0, 2.0)
    y = x * 3.0
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\).*grad="):
        y.backward()
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -3.0])


def test_backward_needs_a_tensor_that_requires_grad_and_a_grad_of_its_shape():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(2).sum().backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (leaf(1.0, 2.0) * 2.0).backward(np.ones(3))


def test_no_grad_records_nothing_and_restores_the_mode():
    x = leaf(1.0)
    with pytest.raises(KeyError), mg.no_grad():
        assert not mg.is_grad_enabled()
        y = mg.exp(x) * x
        raise KeyError
    assert not y.requires_grad and y.grad_fn is None
    assert mg.is_grad_enabled() and (x * x).grad_fn is not None


def test_a_hook_sees_the_gradient_and_can_replace_it():
    x = leaf(1.0, 2.0)
    y = x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy()))
    y.register_hook(lambda g: g * 10.0)
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * y.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 2 * y.numpy() * 10.0 * 3.0)


def test_a_hook_on_a_leaf_changes_what_lands_in_grad():
    x = leaf(1.0, 2.0)
    x.register_hook(lambda g: g * 0.0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="register_hook"):
        mg.ones(2).register_hook(print)


def test_only_leaves_and_retain_grad_tensors_keep_their_grad():
    x = leaf(1.0, 2.0)
    kept, dropped = x * 2.0, x * 3.0
    kept.retain_grad()
    (kept * dropped).sum().backward()
    np.testing.assert_array_equal(kept.grad.numpy(), dropped.numpy())
    assert dropped.grad is None


def test_gradients_of_different_leaves_are_not_the_same_array():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).sum().backward()
    a.grad.data *= 2.0  # e.g. an optimizer working in place
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_a_zero_dimensional_result_holds_an_array():
    y = mg.tensor(np.array(2.0)) * mg.tensor(np.array(3.0))
    assert isinstance(y.data, np.ndarray) and y.shape == ()


def test_mixing_devices_names_the_op_the_devices_and_the_shapes(monkeypatch):
    a, b = mg.ones(2, 3), mg.ones(3)
    on_cpu = backend.device_of
    monkeypatch.setattr(backend, "device_of", lambda x: "cuda" if x is b.data else on_cpu(x))
    with pytest.raises(RuntimeError, match=r"Add: tensors on different devices, cpu \(2, 3\) and cuda \(3,\)"):
        a + b


def test_non_float_tensors_name_the_op_the_dtype_and_the_shape():
    with pytest.raises(TypeError, match=r"Exp: expected floating-point tensors, got int64 of shape \(2,\)"):
        mg.exp(mg.tensor([1, 2]))
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2], requires_grad=True)


def test_a_backward_that_returns_a_wrong_shape_is_reported():
    class Broken(mg.Function):
        def forward(self, a):
            return a * 2

        def backward(self, grad):
            return grad.sum()

    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\) .*\(3,\)"):
        Broken.apply(leaf(1.0, 2.0, 3.0)).sum().backward()


def test_tensor_properties_and_conversions():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert (x.shape, x.ndim, x.size, len(x), x.dtype, x.device) == ((2, 3), 2, 6, 2, np.float64, "cpu")
    assert x.is_leaf and not (x * 2.0).is_leaf
    assert x[1, 2].item() == 5.0
    with pytest.raises(ValueError, match=r"item: .*\(2, 3\)"):
        x.item()
    detached = x.detach()
    assert not detached.requires_grad and detached.grad_fn is None
    np.testing.assert_array_equal(detached.numpy(), np.arange(6.0).reshape(2, 3))
    assert "grad_fn=Mul" in repr(x * 2.0) and "requires_grad=True" in repr(x)
