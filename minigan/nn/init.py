"""Initialisers, as torch.nn.init: each fills ``tensor.data`` in place (no graph) and returns the tensor.

Random ones draw from ``generator`` (default: minigan's default generator). Fans follow torch:
for a weight (a, b, kh, kw), fan_in = b kh kw and fan_out = a kh kw.
"""
import math

from ..random import default_generator


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady through ``nonlinearity``, as torch's."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fans(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): in * receptive field, out * receptive field."""
    if tensor.ndim < 2:
        raise ValueError(f"fans: fan in and fan out need at least 2 dimensions, got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor, values):
    tensor.data[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Values drawn uniformly from [a, b)."""
    return _fill(tensor, (generator or default_generator).uniform(tensor.shape, tensor.dtype, tensor.device, a, b))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fill(tensor, (generator or default_generator).normal(tensor.shape, tensor.dtype, tensor.device, mean, std))


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): uniform on +-gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): uniform on +-gain sqrt(3 / fan), fan = fan_in or fan_out by ``mode``.
    torch's Linear and Conv layers start from a = sqrt(5), which gives +-1 / sqrt(fan_in)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fans(tensor)[mode == "fan_out"]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)
