import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import check_op

import minigan.nn.functional as F
from minigan.testing import float_arrays, shapes

LAYERS = ["linear", "conv2d", "conv_transpose2d", "batch_norm", "dropout", "max_pool2d", "avg_pool2d",
          "binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "cross_entropy"]


def _torch_arguments(name):
    """torch's argument names, or None where it has no inspectable signature (builtins, *args dispatch)."""
    try:
        names = list(inspect.signature(getattr(torch.nn.functional, name)).parameters)
    except ValueError:
        return None
    return None if names == ["args", "kwargs"] else names


@pytest.mark.parametrize("name", [n for n in LAYERS if _torch_arguments(n)])
def test_arguments_are_torchs(name):
    """Our positional arguments are torch's leading ones; our keywords are torch's too (but generator)."""
    theirs = _torch_arguments(name)
    ours = inspect.signature(getattr(F, name)).parameters.values()
    positional = [{"x": "input"}.get(p.name, p.name) for p in ours if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == theirs[:len(positional)]
    assert {p.name for p in ours if p.kind == p.KEYWORD_ONLY} - {"generator"} <= set(theirs)


@pytest.mark.parametrize("name, kwargs", [("relu", {}), ("leaky_relu", dict(negative_slope=0.2)), ("tanh", {}),
                                          ("sigmoid", {}), ("softplus", {}), ("log_softmax", dict(dim=-1)),
                                          ("softmax", dict(dim=-1))])
@given(data=st.data())
def test_activations_match_gradcheck_and_torch(name, kwargs, data):
    x = data.draw(float_arrays(data.draw(shapes(min_dims=1, max_dims=3))))
    check_op(lambda t: getattr(F, name)(t, **kwargs), lambda t: getattr(torch.nn.functional, name)(t, **kwargs),
             [x], rtol=1e-9)

