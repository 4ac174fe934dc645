import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import F, assert_matches_torch, assert_second_order_matches_torch, check_op, torch

import minigan as mg
from minigan.ops import activation
from minigan.testing import float_arrays, shapes

SHAPES = dict(max_dims=3, max_side=4)

ELEMENTWISE = {  # name: (minigan, torch, kinks of the input)
    "sigmoid": (mg.sigmoid, torch.sigmoid, ()),
    "Tensor.sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), ()),
    "tanh": (mg.tanh, torch.tanh, ()),
    "Tensor.tanh": (lambda x: x.tanh(), lambda x: x.tanh(), ()),
    "relu": (mg.relu, torch.relu, (0.0,)),
    "Tensor.relu": (lambda x: x.relu(), lambda x: x.relu(), (0.0,)),
    "leaky_relu": (mg.leaky_relu, F.leaky_relu, (0.0,)),
    "leaky_relu 0.2": (lambda x: mg.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2), (0.0,)),
    "softplus": (mg.softplus, F.softplus, ()),
    "log_sigmoid": (mg.log_sigmoid, F.logsigmoid, ()),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(data=st.data())
def test_activation_matches_gradcheck_and_torch(name, data):
    ours, theirs, kinks = ELEMENTWISE[name]
    check_op(ours, theirs, [data.draw(float_arrays(data.draw(shapes(**SHAPES)), kinks=kinks))])


@given(data=st.data(), slope=st.floats(-3.0, 3.0) | st.sampled_from([0.0, 0.01, 0.2, 1.0]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_leaky_relu_gradient_is_the_upstream_gradient_times_exactly_1_or_the_slope(data, slope, dtype):
    x = data.draw(float_arrays(data.draw(shapes(**SHAPES)), kinks=(0.0,))).astype(dtype)
    grad = data.draw(float_arrays(x.shape)).astype(dtype)
    t = mg.tensor(x, requires_grad=True)
    mg.leaky_relu(t, slope).backward(grad)
    expected = np.where(x > 0, grad, grad * dtype(slope))
    assert t.grad.numpy().dtype == dtype
    np.testing.assert_array_equal(t.grad.numpy(), expected)


@given(data=st.data(), beta=st.floats(0.5, 4.0), threshold=st.floats(0.5, 20.0))
def test_softplus_with_beta_and_threshold_matches_gradcheck_and_torch(data, beta, threshold):
    shape = data.draw(shapes(**SHAPES))
    x = data.draw(float_arrays(shape, kinks=(threshold / beta,)))  # where it turns linear it jumps by ~e^-threshold
    check_op(lambda t: mg.softplus(t, beta, threshold), lambda t: F.softplus(t, beta, threshold), [x])


@pytest.mark.parametrize("ours, theirs", [(mg.softmax, torch.softmax), (mg.log_softmax, torch.log_softmax)])
@given(data=st.data(), scale=st.sampled_from([1.0, 1e3]))
def test_softmax_and_log_softmax_match_gradcheck_and_torch_even_for_large_inputs(ours, theirs, data, scale):
    shape = data.draw(shapes(min_dims=1, **SHAPES))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(float_arrays(shape)) * scale
    if scale == 1.0:
        assert mg.gradcheck(lambda t: ours(t, axis), [mg.tensor(x, requires_grad=True)])
        assert mg.gradgradcheck(lambda t: ours(t, axis), [mg.tensor(x, requires_grad=True)])
    assert_matches_torch(lambda t: ours(t, axis), lambda t: theirs(t, axis), [x])
    assert_matches_torch(lambda t: getattr(t, ours.__name__)(dim=axis), lambda t: theirs(t, dim=axis), [x])
    assert_second_order_matches_torch(lambda t: ours(t, axis), lambda t: theirs(t, axis), [x])


@pytest.mark.parametrize("ours, theirs", [(mg.sigmoid, torch.sigmoid), (mg.log_sigmoid, F.logsigmoid),
                                          (mg.softplus, F.softplus), (mg.tanh, torch.tanh)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_activations_do_not_overflow_at_1e4(ours, theirs, dtype):
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype)
    t = mg.tensor(x, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = ours(t)
        y.backward(np.ones_like(x))
    reference = torch.tensor(x, requires_grad=True)
    theirs(reference).backward(torch.ones(len(x), dtype=reference.dtype))
    np.testing.assert_allclose(y.numpy(), theirs(reference).detach().numpy(), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(t.grad.numpy(), reference.grad.numpy(), rtol=1e-6, atol=1e-30)
    if dtype == np.float64:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            assert_second_order_matches_torch(ours, theirs, [x], atol=1e-30)


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2])
@given(data=st.data())
def test_relu_has_no_second_derivative_but_its_backward_is_linear_in_the_gradient(slope, data):
    x = mg.tensor(data.draw(float_arrays(data.draw(shapes(**SHAPES)))), requires_grad=True)
    v = mg.tensor(data.draw(float_arrays(x.shape, kinks=())), requires_grad=True)
    (g,) = mg.grad(mg.relu(x) if slope == 0 else mg.leaky_relu(x, slope), x, v, create_graph=True)
    u = np.random.default_rng(0).standard_normal(x.shape)
    grad_x, grad_v = mg.grad(g, [x, v], u, allow_unused=True)
    assert grad_x is None  # the second derivative is 0 (away from 0): nothing of x is in g's graph
    np.testing.assert_array_equal(grad_v.numpy(), np.where(x.numpy() > 0, 1.0, slope) * u)  # g = slope(x) v


KERNELS = [  # an op, and where its forward and backward find the @kernel functions they must go through
    (mg.relu, activation.ReLU, ("forward_kernel", "backward_kernel"), ("relu_forward", "relu_backward")),
    (mg.tanh, activation.Tanh, ("forward_kernel", "backward_kernel"), ("tanh_forward", "tanh_backward")),
    (mg.sigmoid, activation.Sigmoid, ("forward_kernel", "backward_kernel"), ("sigmoid_forward", "sigmoid_backward")),
    (mg.leaky_relu, activation, ("leaky_relu_forward", "leaky_relu_backward"),
     ("leaky_relu_forward", "leaky_relu_backward")),
]


@pytest.mark.parametrize("op, holder, attributes, names", KERNELS)
def test_activations_go_through_their_kernels_so_cuda_can_replace_them(op, holder, attributes, names, monkeypatch):
    calls = []
    for attribute, name in zip(attributes, names):
        kernel = getattr(activation, name)
        assert kernel.reference.__name__ == name and getattr(holder, attribute) is kernel
        spy = lambda *args, k=kernel, n=name: calls.append(n) or k(*args)  # noqa: E731
        monkeypatch.setattr(holder, attribute, staticmethod(spy) if isinstance(holder, type) else spy)
    x = mg.tensor(np.array([-1.0, 0.5]), requires_grad=True)
    op(x).sum().backward()
    assert calls == list(names)


@pytest.mark.parametrize("op", [mg.relu, mg.tanh, mg.sigmoid, mg.leaky_relu])
def test_given_tensors_a_backward_kernel_runs_its_reference_expression_as_ops(op):
    x = mg.tensor(np.array([-1.0, 0.5]), requires_grad=True)
    (g,) = mg.grad(op(x), x, mg.tensor(np.array([2.0, 3.0]), requires_grad=True), create_graph=True)
    assert g.requires_grad and g.grad_fn is not None  # a graph, made of minigan's ops
