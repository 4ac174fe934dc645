import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import minigan as mg
import minigan.nn as nn
from minigan.testing import conv_configs, float_arrays


def load_from_torch(ours, theirs):
    """Copy a torch module's state (as NumPy arrays) into ours; the same architecture is assumed."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


def assert_module_matches_torch(ours, theirs, x, rtol=1e-9):
    """Forward, the input's gradient and every parameter's gradient equal torch's (float64)."""
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xm), theirs(xt)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=1e-12)
    v = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(v)
    expected.backward(torch.tensor(v))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(torch_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(), rtol=rtol, atol=1e-12,
                                   err_msg=name)


@given(data=st.data(), bias=st.booleans())
def test_linear_matches_torch(data, bias):
    n_in, n_out, batch = (data.draw(st.integers(1, 5)) for _ in range(3))
    theirs = torch.nn.Linear(n_in, n_out, bias=bias, dtype=torch.float64)
    ours = load_from_torch(nn.Linear(n_in, n_out, bias=bias, dtype=np.float64), theirs)
    assert_module_matches_torch(ours, theirs, data.draw(float_arrays((batch, n_in))))


@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data(), bias=st.booleans())
def test_conv_layers_match_torch(transposed, data, bias):
    cfg = data.draw(conv_configs(transposed))
    assume(not cfg.empty)
    torch_layer, layer = (torch.nn.ConvTranspose2d, nn.ConvTranspose2d) if transposed else (torch.nn.Conv2d, nn.Conv2d)
    args = (cfg.in_channels, cfg.out_channels, cfg.kernel_size)
    theirs = torch_layer(*args, **cfg.kwargs, bias=bias, dtype=torch.float64)
    ours = load_from_torch(layer(*args, **cfg.kwargs, bias=bias, dtype=np.float64), theirs)
    assert_module_matches_torch(ours, theirs, data.draw(float_arrays(cfg.x_shape, kinks=())))


@given(data=st.data())
def test_maxout_is_a_linear_then_the_max_of_each_units_pieces(data):
    n_in, units, pieces, batch = (data.draw(st.integers(1, 4)) for _ in range(4))
    ours = nn.Maxout(n_in, units, pieces, dtype=np.float64, generator=mg.Generator(0))
    theirs = torch.nn.Linear(n_in, units * pieces, dtype=torch.float64)
    load_from_torch(ours, theirs)
    x = data.draw(float_arrays((batch, n_in)))
    pre = theirs(torch.tensor(x)).detach().numpy().reshape(batch, units, pieces)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), pre.max(axis=-1), rtol=1e-12)


@pytest.mark.parametrize("dims", [2, 3, 4])
@pytest.mark.parametrize("momentum, affine, bias, track", [(0.1, True, True, True), (0.5, False, False, True),
                                                           (None, True, True, True), (0.1, True, False, False)])
def test_batch_norm_matches_torch_over_five_steps_then_in_eval(dims, momentum, affine, bias, track):
    ours_cls, theirs_cls = (nn.BatchNorm2d, torch.nn.BatchNorm2d) if dims == 4 else (nn.BatchNorm1d,
                                                                                     torch.nn.BatchNorm1d)
    kwargs = dict(momentum=momentum, affine=affine, track_running_stats=track, bias=bias)
    ours, theirs = ours_cls(3, dtype=np.float64, **kwargs), theirs_cls(3, dtype=torch.float64, **kwargs)
    if affine:
        for p in theirs.parameters():
            torch.nn.init.uniform_(p)
        load_from_torch(ours, theirs)
    rng = np.random.default_rng(dims)
    shape = (4, 3, 2, 3)[:dims]
    for _ in range(5):
        assert_module_matches_torch(ours, theirs, rng.normal(1.0, 2.0, shape))
    for name, buffer in theirs.named_buffers():
        np.testing.assert_allclose(getattr(ours, name).numpy(), buffer.numpy(), rtol=1e-9, err_msg=name)
    assert_module_matches_torch(ours.eval(), theirs.eval(), rng.normal(1.0, 2.0, shape))


def test_batch_norm_checks_the_input_dims():
    with pytest.raises(ValueError, match="BatchNorm2d: expected a 4-D input"):
        nn.BatchNorm2d(3)(mg.zeros(4, 3))
    with pytest.raises(ValueError, match="BatchNorm1d: expected a 2 or 3-D input"):
        nn.BatchNorm1d(3)(mg.zeros(4, 3, 2, 2))


@pytest.mark.parametrize("make", [lambda lib: lib.ReLU(), lambda lib: lib.LeakyReLU(0.2), lambda lib: lib.Tanh(),
                                  lambda lib: lib.Sigmoid(), lambda lib: lib.Flatten(), lambda lib: lib.Flatten(0, 2),
                                  lambda lib: lib.Unflatten(1, (2, 3)), lambda lib: lib.Unflatten(-1, (2, -1)),
                                  lambda lib: lib.Dropout(0.3).eval()])
def test_parameter_free_layers_match_torch(make):
    x = np.random.default_rng(0).standard_normal((2, 6, 2))
    x[np.abs(x) < 1e-3] = 0.5  # away from relu's kink
    assert_module_matches_torch(make(nn), make(torch.nn), x)


def test_dropout_module_drops_in_training_only():
    x = mg.ones(1000)
    layer = nn.Dropout(0.5, generator=mg.Generator(0))
    values = set(np.unique(layer(x).numpy()))
    assert values == {0.0, 2.0}
    assert layer.eval()(x) is x


@pytest.mark.parametrize("make, fan_in", [(lambda lib: lib.Linear(300, 256), 300),
                                          (lambda lib: lib.Conv2d(16, 256, 3), 16 * 9),
                                          (lambda lib: lib.ConvTranspose2d(16, 256, 3), 256 * 9)])
def test_default_init_is_torchs(make, fan_in):
    torch.manual_seed(0)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) for the weight; the bias the same
    for layer in (make(nn), make(torch.nn)):
        for p in (layer.weight, layer.bias):
            values = np.abs(p.detach().numpy())
            assert values.max() <= bound and values.max() > 0.95 * bound


def test_generator_device_and_dtype_kwargs():
    a, b = (nn.Conv2d(3, 4, 3, generator=mg.Generator(5), dtype=np.float64, device="cpu") for _ in range(2))
    c = nn.Conv2d(3, 4, 3, generator=mg.Generator(6))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(a.bias.numpy(), c.bias.numpy().astype(np.float64))
    assert a.weight.dtype == a.bias.dtype == np.float64 and c.weight.dtype == np.float32
    assert a.weight.device == "cpu" and a.weight.requires_grad and isinstance(a.weight, nn.Parameter)
    bn = nn.BatchNorm2d(4, dtype=np.float64)
    assert bn.running_var.dtype == bn.weight.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_reprs_are_torchs():
    def build(lib):
        return lib.Sequential(lib.Conv2d(3, 8, 4, 2, 1, bias=False), lib.BatchNorm2d(8), lib.LeakyReLU(0.2),
                              lib.ConvTranspose2d(8, 3, (3, 5), stride=(2, 1), padding=(1, 2), output_padding=1),
                              lib.Conv2d(3, 3, 3, dilation=2), lib.Tanh(), lib.Flatten(), lib.Linear(4, 1),
                              lib.Sigmoid(), lib.ReLU(), lib.Dropout(0.3), lib.Unflatten(1, (1, 1)),
                              lib.BatchNorm1d(2, affine=False), lib.BatchNorm1d(2, bias=False))
    assert repr(build(nn)) == repr(build(torch.nn))
    assert repr(nn.Maxout(4, 3, 2)) == "Maxout(in_features=4, out_features=3, pieces=2, bias=True)"
