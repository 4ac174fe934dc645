"""minigan.optim against torch.optim: trajectories, parameter groups, state dicts, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import backend
from minigan.optim import SGD, Adam, adam_step

SHAPES = [(3,), (2, 3), (4,), (2,)]
NO_GRAD = 3  # this parameter never gets a gradient: both optimizers must skip it


def gradient(theta, i):
    """The gradient of sum(-cos(3 theta) / 3 + 0.15 theta^2 + i theta): nonconvex, so paths differ."""
    return np.sin(3 * theta) + 0.3 * theta + i


def make_params(dtype=np.float64):
    rng = np.random.default_rng(0)
    inits = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    return ([minigan.tensor(x.copy(), requires_grad=True) for x in inits],
            [torch.tensor(x.copy(), requires_grad=True) for x in inits])


def make_optimizer(cls, params, hyper):
    """Two groups: the first with half the learning rate, the second added later with the defaults."""
    opt = cls([{"params": params[:2], "lr": hyper["lr"] / 2}], **hyper)
    opt.add_param_group({"params": params[2:]})
    return opt


def set_gradients(params, to_array, from_array):
    for i, p in enumerate(params):
        if i != NO_GRAD:
            p.grad = from_array(gradient(to_array(p), i))


def ours_step(opt, params):
    set_gradients(params, lambda p: p.data, minigan.Tensor)
    opt.step()


def torch_step(opt, params):
    set_gradients(params, lambda p: p.detach().numpy(), torch.from_numpy)
    opt.step()


def assert_same_trajectory(name, hyper, steps=20):
    ours, theirs = make_params()
    opt = make_optimizer(getattr(minigan.optim, name), ours, hyper)
    ref = make_optimizer(getattr(torch.optim, name), theirs, dict(hyper, foreach=False))
    for _ in range(steps):
        ours_step(opt, ours)
        torch_step(ref, theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-14)
    assert ours[NO_GRAD] not in opt.state
    assert_state_dicts_match(opt.state_dict(), ref.state_dict())


def assert_state_dicts_match(ours, theirs):
    """Same parameter numbering, hyperparameters and state as torch's state_dict."""
    assert ours["state"].keys() == theirs["state"].keys()
    for i, state in ours["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(value, np.asarray(theirs["state"][i][key]), rtol=1e-10, atol=1e-14)
    for group, ref in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert group == {k: ref[k] for k in group}


sgd_hyper = st.fixed_dictionaries({
    "lr": st.floats(1e-3, 0.3), "momentum": st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0, 0.99),
    "dampening": st.sampled_from([0.0, 0.3]), "nesterov": st.booleans(),
    "weight_decay": st.sampled_from([0.0, 0.1]) | st.floats(0, 0.5), "maximize": st.booleans(),
}).map(lambda h: dict(h, dampening=0.0, momentum=max(h["momentum"], 0.1)) if h["nesterov"] else h)

# beta2 >= 0.5: near 0, Adam divides by |g| alone, and the steps where g crosses 0 blow torch's one-ULP
# differences (its CPU kernels fuse multiply-adds) past 1e-10 within 20 steps, whatever the formula.
adam_hyper = st.fixed_dictionaries({
    "lr": st.floats(1e-4, 0.3), "betas": st.tuples(st.floats(0, 0.99), st.floats(0.5, 0.9999)),
    "eps": st.sampled_from([1e-8, 1e-3]) | st.floats(1e-10, 1e-2),
    "weight_decay": st.sampled_from([0.0, 0.1]) | st.floats(0, 0.5), "amsgrad": st.booleans(),
})


@given(sgd_hyper)
def test_sgd_follows_torch(hyper):
    assert_same_trajectory("SGD", hyper)


@given(adam_hyper)
def test_adam_follows_torch(hyper):
    assert_same_trajectory("Adam", hyper)


@pytest.mark.parametrize("name, hyper", [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.999), weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
])
def test_named_configurations_follow_torch(name, hyper):
    assert_same_trajectory(name, hyper)


def test_gradients_from_backward_and_in_place_updates():
    """A tiny model trained through minigan's own backward, against torch's autograd."""
    rng = np.random.default_rng(1)
    x, y, w, b = (rng.normal(size=s) for s in [(5, 3), (5, 3), (3,), (3,)])
    ours = [minigan.tensor(v.copy(), requires_grad=True) for v in (w, b)]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in (w, b)]
    arrays = [p.data for p in ours]
    opt, ref = Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1, foreach=False)
    for _ in range(20):
        for (wt, bt), o, lib in [(ours, opt, minigan), (theirs, ref, torch)]:
            o.zero_grad()
            residual = wt * lib.tensor(x) + bt - lib.tensor(y)
            (residual * residual).backward(lib.tensor(np.ones((5, 3))))
            o.step()
        for a, t in zip(ours, theirs):
            np.testing.assert_allclose(a.data, t.detach().numpy(), rtol=1e-10)
    assert all(p.data is a for p, a in zip(ours, arrays)), "the update must happen in place"
    assert all(p.grad_fn is None for p in ours)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_parameters_sharing_one_gradient(cls):
    """``a.grad = b.grad = g``: no optimizer may update a gradient (or keep it as a buffer) in place."""
    ours = [minigan.tensor(np.array([1.0, -2.0]), requires_grad=True) for _ in range(2)]
    theirs = [torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True) for _ in range(2)]
    opt = cls(ours, lr=0.1, momentum=0.9) if cls is SGD else cls(ours, lr=0.1)
    ref = getattr(torch.optim, cls.__name__)(theirs, foreach=False, **opt.defaults)
    for _ in range(3):
        for (a, b), o, lib in [(ours, opt, minigan), (theirs, ref, torch)]:
            a.grad = b.grad = lib.tensor(a.detach().numpy() ** 2)
            o.step()
    np.testing.assert_array_equal(ours[0].grad.data, theirs[0].grad.numpy())
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.data, t.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("cls, hyper", [(SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                        (Adam, dict(lr=0.05, betas=(0.5, 0.999), weight_decay=0.01))])
def test_training_a_module_follows_torch(cls, hyper):
    nn, rng = minigan.nn, np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 1, dtype=np.float64))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    opt = cls([{"params": model[0].parameters(), "lr": 0.01}, {"params": model[2].parameters()}], **hyper)
    ref_opt = getattr(torch.optim, cls.__name__)([{"params": ref[0].parameters(), "lr": 0.01},
                                                  {"params": ref[2].parameters()}], foreach=False, **hyper)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    for _ in range(20):
        for net, o, lib, F in [(model, opt, minigan, nn.functional), (ref, ref_opt, torch, torch.nn.functional)]:
            o.zero_grad()
            F.mse_loss(net(lib.tensor(x)), lib.tensor(y)).backward()
            o.step()
    for (name, ours), theirs in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def test_float32_parameters_keep_their_dtype():
    ours, _ = make_params(np.float32)
    opt = Adam(ours, lr=0.1)
    ours_step(opt, ours)
    assert all(p.dtype == np.float32 for p in ours)
    assert all(v.dtype == np.float32 for s in opt.state.values() for k, v in s.items() if k != "step")


def test_adam_step_updates_in_place_and_leaves_grad_alone():
    rng = np.random.default_rng(2)
    param, grad = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    exp_avg, exp_avg_sq = np.zeros_like(param), np.zeros_like(param)
    before, grad_before = param.copy(), grad.copy()
    assert adam_step(param, grad, exp_avg, exp_avg_sq, 1, 0.1, 0.9, 0.999, 1e-8, 0.01) is None
    np.testing.assert_array_equal(grad, grad_before)
    # at step 1, m/(1-beta1) = g and sqrt(v/(1-beta2)) = |g|: Adam's first move is lr sign(g)
    g = grad_before + 0.01 * before
    np.testing.assert_allclose(param, before - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(exp_avg, 0.1 * g, rtol=1e-12)
    np.testing.assert_allclose(exp_avg_sq, 0.001 * g * g, rtol=1e-12)
    assert adam_step.reference.__name__ == "adam_step"


@pytest.mark.parametrize("cls, hyper", [(SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                                        (Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1))])
def test_restored_optimizer_continues_bitwise(cls, hyper):
    straight, _ = make_params()
    reference = make_optimizer(cls, straight, hyper)
    interrupted, _ = make_params()
    first = make_optimizer(cls, interrupted, hyper)
    for _ in range(10):
        ours_step(reference, straight)
        ours_step(first, interrupted)
    resumed = [minigan.tensor(p.data.copy(), requires_grad=True) for p in interrupted]
    second = make_optimizer(cls, resumed, dict(hyper, lr=123.0))
    second.load_state_dict(first.state_dict())
    for _ in range(10):  # the first optimizer goes on too: the restored one must own copies of its state
        ours_step(reference, straight)
        ours_step(first, interrupted)
        ours_step(second, resumed)
    for a, b, c in zip(straight, interrupted, resumed):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.data, c.data)


def test_zero_grad():
    ours, _ = make_params()
    opt = SGD(ours, lr=0.1)
    set_gradients(ours, lambda p: p.data, minigan.Tensor)
    grad = ours[0].grad
    opt.zero_grad(set_to_none=False)
    assert ours[0].grad is grad and not grad.data.any()
    opt.zero_grad()
    assert all(p.grad is None for p in ours)


def test_hyperparameters_can_change_between_steps():
    ours, theirs = make_params()
    opt, ref = SGD(ours, lr=0.1, momentum=0.9), torch.optim.SGD(theirs, lr=0.1, momentum=0.9, foreach=False)
    for lr in (0.1, 0.01, 0.2):
        for o in (opt, ref):
            o.param_groups[0]["lr"] = lr
        ours_step(opt, ours)
        torch_step(ref, theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD([], lr=0.1), "empty parameter list"),
    (lambda ps: SGD(ps[0], lr=0.1), "iterable of Tensors"),
    (lambda ps: SGD(set(ps), lr=0.1), "iterable of Tensors"),
    (lambda ps: SGD([ps[0], ps[0]], lr=0.1), "appears twice"),
    (lambda ps: SGD([{"params": ps[:2]}, {"params": ps[1:]}], lr=0.1), "appears twice"),
    (lambda ps: SGD([ps[0] * 2.0], lr=0.1), "leaf"),
    (lambda ps: SGD(ps, lr=-1.0), "SGD: lr must be >= 0, got -1.0"),
    (lambda ps: SGD(ps, lr="0.1"), "SGD: lr must be a number >= 0, got '0.1'"),
    (lambda ps: SGD([{"params": ps[:1], "lr": None}], lr=0.1), "SGD: lr must be a number >= 0, got None"),
    (lambda ps: SGD(ps, lr=0.1, momentum=True), "SGD: momentum must be a number"),
    (lambda ps: SGD(ps, lr=0.1, nesterov="yes"), "SGD: nesterov must be True or False"),
    (lambda ps: Adam(ps, betas=0.9), "Adam: betas must be a pair of numbers, got 0.9"),
    (lambda ps: Adam(ps, betas=(0.9, "0.999")), "Adam: betas must be a number in"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov"),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), "nesterov"),
    (lambda ps: Adam(ps, betas=(0.9, 1.0)), "betas"),
    (lambda ps: Adam(ps, eps=-1.0), "eps"),
])
def test_bad_arguments(make, message):
    params, _ = make_params()
    with pytest.raises((TypeError, ValueError), match=message):
        make(params)


def test_gradient_of_the_wrong_shape():
    params, _ = make_params()
    params[1].grad = minigan.zeros(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"parameter 1 of shape \(2, 3\) has a gradient of shape \(3,\)"):
        SGD(params, lr=0.1).step()


def test_load_state_dict_checks_the_groups():
    params, _ = make_params()
    saved = make_optimizer(Adam, params, dict(lr=0.1)).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups"):
        Adam(params, lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group of 2 parameters for a group of 3"):
        Adam([{"params": params[:3]}, {"params": params[3:]}]).load_state_dict(saved)
    opt = make_optimizer(Adam, params, dict(lr=0.1))
    ours_step(opt, params)
    bad = opt.state_dict()
    bad["state"][0] = dict(bad["state"][0], exp_avg=np.zeros(5))
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(5,\)"):
        opt.load_state_dict(bad)


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("cls, hyper", [(SGD, dict(lr=0.1, momentum=0.9)), (Adam, dict(lr=0.1)),
                                        (Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1))])
def test_cuda_matches_cpu(cls, hyper):
    cpu, _ = make_params()
    gpu = [p.to("cuda") for p in cpu]
    for p in gpu:
        p.requires_grad = True
    opts = make_optimizer(cls, cpu, hyper), make_optimizer(cls, gpu, hyper)
    for _ in range(5):
        for opt, params in zip(opts, (cpu, gpu)):
            set_gradients(params, lambda p: p.numpy(), lambda g: minigan.tensor(g, device=params[0].device))
            opt.step()
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-10)
