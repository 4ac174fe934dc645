import numpy as np
import pytest
from hypothesis import given

import minigan as mg
from minigan import backend
from minigan.testing import float_arrays

torch = pytest.importorskip("torch")


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


# ---- gradients of gradients ----

def test_create_graph_gives_gradients_that_differentiate_again():
    x = leaf(0.5, -1.0, 2.0)
    (x * x * x).sum().backward(create_graph=True)
    g = x.grad  # 3 x^2, with a graph
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    (hessian_diagonal,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(hessian_diagonal.numpy(), 6 * x.numpy())


def test_without_create_graph_grad_carries_no_graph():
    x = leaf(0.5, -1.0)
    (x * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    (g,) = mg.grad((x * x).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


@given(x=float_arrays((3,), low=-2.0, high=2.0))
def test_third_order_on_a_chain_matches_torch(x):
    def chain(t, lib):
        return lib.tanh(lib.exp(t * 0.5) * t).sum()

    ours = mg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    for t, lib, grad in ((ours, mg, mg.grad), (theirs, torch, torch.autograd.grad)):
        (g1,) = grad(chain(t, lib), t, create_graph=True)
        (g2,) = grad(g1.sum(), t, create_graph=True)
        (g3,) = grad(g2.sum(), t)
        t.third = g3
    np.testing.assert_allclose(ours.third.numpy(), theirs.third.numpy(), rtol=1e-9, atol=1e-12)


def test_a_second_backward_through_a_freed_graph_still_says_so():
    x = leaf(1.0, 2.0)
    (g,) = mg.grad((x * x * x).sum(), x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        mg.grad(g.sum(), x)


def test_retain_graph_defaults_to_create_graph():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    mg.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        mg.grad(y, x)
    y = (x * x).sum()
    mg.grad(y, x, create_graph=True)
    mg.grad(y, x)  # kept


def test_grad_returns_gradients_without_touching_grad():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    x.grad = mg.tensor(np.array([7.0, 7.0]))
    y = (x * w).sum()
    y.retain_grad()
    gx, gw = mg.grad(y, [x, w])
    np.testing.assert_array_equal(gx.numpy(), w.numpy())
    np.testing.assert_array_equal(gw.numpy(), x.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    assert w.grad is None and y.grad is None
    assert isinstance(mg.grad((x * w).sum(), x), tuple)


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x, unused = leaf(1.0), leaf(2.0)
    with pytest.raises(RuntimeError, match="input 1 .*not used.*allow_unused=True"):
        mg.grad((x * x).sum(), [x, unused])
    gx, nothing = mg.grad((x * x).sum(), [x, unused], allow_unused=True)
    assert nothing is None and gx.item() == 2.0
    with pytest.raises(RuntimeError, match="input 0 is not a Tensor that requires grad"):
        mg.grad((x * x).sum(), mg.ones(1))
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\).*grad_outputs="):
        mg.grad(leaf(1.0, 2.0) * 2.0, x)


def test_grad_takes_several_outputs_with_their_grad_outputs():
    x = leaf(1.0, 2.0)
    (g,) = mg.grad([x * 2.0, x * x], x, [np.array([1.0, 1.0]), np.array([10.0, 100.0])])
    np.testing.assert_array_equal(g.numpy(), [2.0 + 20.0, 2.0 + 400.0])


def test_grad_walks_only_the_paths_to_its_inputs():
    seen = []

    class Spy(mg.Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return a * b

        def backward(self, grad):
            seen.append(self.needs_input_grad)
            a, b = self.saved
            return (grad * b if self.needs_input_grad[0] else None), (grad * a if self.needs_input_grad[1] else None)

    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    w.register_hook(lambda g: seen.append("hook on w"))
    mg.grad(Spy.apply(x, w).sum(), x)
    assert seen == [(True, False)]  # no gradient for w asked for, and w's hook never ran
    assert Spy.apply(x, w).grad_fn.needs_input_grad == (True, True)


def test_a_hook_sees_the_gradient_that_grad_returns_and_a_graph_with_create_graph():
    x = leaf(1.0, 2.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad) or g * 10.0)
    (g,) = mg.grad((x * x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), 20.0 * x.numpy())
    assert seen == [True]
    np.testing.assert_array_equal(mg.grad(g.sum(), x)[0].numpy(), [20.0 * 10.0, 20.0 * 10.0])  # hook again


def test_a_grad_that_requires_grad_is_differentiated_too():
    x, v = leaf(1.0, 2.0), leaf(3.0, 5.0)
    (g,) = mg.grad(mg.exp(x), x, v, create_graph=True)  # v e^x
    gx, gv = mg.grad(g.sum(), [x, v])
    np.testing.assert_allclose(gx.numpy(), v.numpy() * np.exp(x.numpy()))
    np.testing.assert_allclose(gv.numpy(), np.exp(x.numpy()))


def test_two_tensors_on_one_array_stay_two_inputs_of_the_graph():
    x = leaf(1.0, 2.0)
    z = mg.Tensor(x.data, requires_grad=True)  # the same array, another leaf
    (gx,) = mg.grad((x * z).sum(), x, create_graph=True)  # z
    dx, dz = mg.grad(gx.sum(), [x, z], allow_unused=True)
    assert dx is None
    np.testing.assert_array_equal(dz.numpy(), [1.0, 1.0])


def test_an_op_whose_zero_dimensional_output_is_saved_differentiates_twice():
    x = mg.tensor(np.array(0.7), requires_grad=True)
    (g,) = mg.grad(mg.exp(x), x, create_graph=True)
    (h,) = mg.grad(g, x)
    np.testing.assert_allclose(h.numpy(), np.exp(0.7))


def test_a_backward_that_cannot_take_tensors_fails_naming_the_op():
    class ArraysOnly(mg.Function):
        def forward(self, a):
            self.save_for_backward(a)
            return np.sin(a)

        def backward(self, grad):
            return grad * np.cos(self.saved[0])

    class ComputesOnItsOwnArrays(ArraysOnly):
        def backward(self, grad):
            g = grad.data if isinstance(grad, mg.Tensor) else grad
            return g * np.cos(self.saved[0].data if isinstance(self.saved[0], mg.Tensor) else self.saved[0])

    for op, message in ((ArraysOnly, "ArraysOnly.backward failed on Tensors"),
                        (ComputesOnItsOwnArrays, "ComputesOnItsOwnArrays.backward returned an array")):
        x = leaf(1.0, 2.0)
        assert mg.gradcheck(op.apply, [x])  # first order is fine
        with pytest.raises(RuntimeError, match=message):
            mg.grad(op.apply(x).sum(), x, create_graph=True)


def test_function_call_runs_forward_on_arrays_and_apply_on_tensors():
    a = np.array([1.0, 2.0])
    out = mg.ops.elementwise.Exp.call(a)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, np.exp(a))
    t = mg.ops.elementwise.Exp.call(leaf(1.0, 2.0))
    assert isinstance(t, mg.Tensor) and t.grad_fn.name == "Exp"


def test_create_graph_builds_the_graph_even_inside_no_grad_and_enable_grad_reopens_it():
    x = leaf(1.0, 2.0)
    y = (x * x * x).sum()
    with mg.no_grad():
        (g,) = mg.grad(y, x, create_graph=True)
        assert g.requires_grad
        with mg.enable_grad():
            assert mg.is_grad_enabled() and (x * x).requires_grad
        assert not mg.is_grad_enabled()


def test_create_graph_adds_into_an_existing_grad():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    (x * x).sum().backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), 4 * x.numpy())
    (h,) = mg.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(h.numpy(), [2.0, 2.0])


def test_a_first_order_backward_applies_no_op_so_it_costs_what_it_did(monkeypatch):
    import minigan.nn.functional as F
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    h = F.leaky_relu(F.batch_norm(F.conv2d(x, w, padding=1), None, None, training=True), 0.2)
    h = F.avg_pool2d(F.max_pool2d(h, 2), 2).flatten(1)  # 2 x 16
    h = F.maxout(F.linear(h, mg.tensor(rng.standard_normal((8, 16)), requires_grad=True)), 2)
    h = mg.softplus(h) + mg.log_sigmoid(h) + h.logsumexp(axis=1, keepdims=True) + h.std(axis=0) + h[:, ::2].sum()
    loss = F.binary_cross_entropy_with_logits(h, mg.ones(*h.shape)) + F.cross_entropy(h, np.array([0, 3]))
    applied = []
    original = mg.Function.apply.__func__
    monkeypatch.setattr(mg.Function, "apply", classmethod(lambda cls, *a, **k: applied.append(cls.__name__)
                                                          or original(cls, *a, **k)))
    loss.backward()
    assert applied == [] and x.grad is not None and not x.grad.requires_grad
