import numpy as np
import pytest
import torch

import minigan as mg
import minigan.nn as nn


def build(lib):
    """A small DCGAN-like network with nested modules, built from minigan.nn or torch.nn alike."""
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.Conv2d(2, 4, 3, padding=1, bias=False)
            self.norm = lib.BatchNorm2d(4)
            self.scale = lib.Parameter((mg if lib is nn else torch).ones(1))

        def forward(self, x):
            return self.norm(self.conv(x)) * self.scale

    return lib.Sequential(Block(), lib.LeakyReLU(0.2), lib.Flatten(), lib.Linear(4 * 3 * 3, 1))


def test_names_order_and_state_match_torchs():
    ours, theirs = build(nn), build(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]


def test_a_network_loaded_from_torch_trains_as_torchs():
    theirs = build(torch.nn).double()
    ours = build(nn).to(dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 2, 3, 3))
    for _ in range(2):
        ours.zero_grad()
        theirs.zero_grad()
        out, expected = ours(mg.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-9)
        (out * out).sum().backward()
        (expected * expected).sum().backward()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-9, err_msg=key)


def test_state_dict_shares_memory_and_load_copies_in_place():
    net = build(nn)
    state = net.state_dict()
    assert state["3.weight"].data is net[3].weight.data and not state["3.weight"].requires_grad
    weight = net[3].weight
    net.load_state_dict({k: np.full(v.shape, 0.5, v.dtype) for k, v in state.items()})
    assert net[3].weight is weight and (weight.numpy() == 0.5).all()
    assert net[0].norm.num_batches_tracked.item() == 0  # 0.5 cast to the buffer's int64


def test_load_state_dict_names_the_bad_key():
    net, state = build(nn), build(nn).state_dict()
    with pytest.raises(RuntimeError, match=r"missing keys \['3.bias'\]"):
        net.load_state_dict({k: v for k, v in state.items() if k != "3.bias"})
    with pytest.raises(RuntimeError, match=r"unexpected keys \['extra'\]"):
        net.load_state_dict({**state, "extra": mg.zeros(1)})
    with pytest.raises(RuntimeError, match=r"'3.weight'.*\(1, 5\).*\(1, 36\)"):
        net.load_state_dict({**state, "3.weight": mg.zeros(1, 5)})
    result = net.load_state_dict({**state, "extra": mg.zeros(1)}, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == ["extra"]


def test_train_eval_and_zero_grad_reach_every_module():
    net = build(nn)
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert all(m.training for m in net.train().modules())
    net(mg.randn(2, 2, 3, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_converts_parameters_buffers_and_grads():
    net = build(nn)
    net(mg.randn(2, 2, 3, 3)).sum().backward()
    net.to("cpu", dtype=np.float64)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net[0].norm.running_mean.dtype == np.float64 and net[0].norm.num_batches_tracked.dtype == np.int64


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(mg.zeros(2))
        self.register_buffer("seen", mg.zeros(1))
        self.register_buffer("scratch", mg.zeros(3), persistent=False)
        self.child = nn.Linear(2, 2)
        self.note = "plain attribute"


def test_attribute_assignment_registers_like_torch():
    h = Holder()
    assert list(h.state_dict()) == ["w", "seen", "child.weight", "child.bias"]
    assert [n for n, _ in h.named_buffers()] == ["seen", "scratch"]
    h.seen = mg.ones(1)  # a buffer stays a buffer
    assert h.state_dict()["seen"].item() == 1
    h.child = None
    assert list(h.state_dict()) == ["w", "seen"] and h.child is None
    with pytest.raises(TypeError, match="'w'"):
        h.w = mg.zeros(2)  # a plain Tensor cannot replace a Parameter
    del h.w
    assert "w" not in h.state_dict() and h.note == "plain attribute"
    with pytest.raises(AttributeError, match="missing"):
        h.missing


def test_assigning_before_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgetful()


def test_apply_visits_children_first():
    visited = []
    net = build(nn)
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Conv2d", "BatchNorm2d", "Block", "LeakyReLU", "Flatten", "Linear", "Sequential"]


def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter(mg.ones(2))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad


def test_sequential_indexes_slices_and_appends():
    net = build(nn)
    assert len(net) == 4 and isinstance(net[-1], nn.Linear) and list(net)[1] is net[1]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and [n for n, _ in head.named_children()] == ["0", "1"]
    assert net.append(nn.Sigmoid()) is net and isinstance(net[4], nn.Sigmoid)
    out = net(mg.randn(2, 2, 3, 3))
    assert out.shape == (2, 1) and ((out.numpy() > 0) & (out.numpy() < 1)).all()
