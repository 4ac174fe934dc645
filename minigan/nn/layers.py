"""The layers, as torch.nn's: same names, arguments, weight layouts, default initialisation and reprs.

Every layer with parameters takes ``device=``, ``dtype=`` and ``generator=`` (the random
generator its initialisation draws from).
"""
import math
from collections import OrderedDict

import numpy as np

from .. import backend, checks
from ..creation import ones, zeros
from ..tensor import Tensor
from . import functional as F
from . import init
from .modules import Module, Parameter


class Sequential(Module):
    """Modules applied in order: Sequential(a, b, c)(x) = c(b(a(x))); names "0", "1", ... or an OrderedDict's."""

    def __init__(self, *modules):
        super().__init__()
        named = modules[0].items() if len(modules) == 1 and isinstance(modules[0], OrderedDict) else (
            (str(i), m) for i, m in enumerate(modules))
        for name, module in named:
            self.add_module(name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        return Sequential(OrderedDict(items[index])) if isinstance(index, slice) else items[index][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


def _parameter(shape, device, dtype):
    return Parameter(zeros(shape, dtype=dtype, device=device))


def _reset_like_torch(weight, bias, generator):
    """torch's default for Linear and Conv: weight uniform on +-1/sqrt(fan_in) (kaiming_uniform_ with
    a = sqrt(5)), bias uniform on +-1/sqrt(fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in = init.fans(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound, generator)


class Linear(Module):
    """y = x W^T + b, with weight (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, device="cpu", dtype=None, generator=None):
        super().__init__()
        self.in_features = checks.integer(type(self).__name__, "in_features", in_features, minimum=1)
        self.out_features = checks.integer(type(self).__name__, "out_features", out_features, minimum=1)
        self.weight = _parameter((out_features, in_features), device, dtype)
        self.register_parameter("bias", _parameter((out_features,), device, dtype) if bias else None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        _reset_like_torch(self.weight, self.bias, generator)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Maxout(Linear):
    """A Linear layer to out_features * pieces, then the max over each unit's pieces (see F.maxout):
    unit u of the output is max_j (x W^T + b)[u * pieces + j]."""

    def __init__(self, in_features, out_features, pieces, bias=True, device="cpu", dtype=None, generator=None):
        checks.integer("Maxout", "out_features", out_features, minimum=1)
        super().__init__(in_features, out_features * checks.integer("Maxout", "pieces", pieces, minimum=1), bias,
                         device, dtype, generator)
        self.out_features, self.pieces = out_features, pieces

    def forward(self, x):
        return F.maxout(super().forward(x), self.pieces)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}, "
                f"bias={self.bias is not None}")


class _Conv(Module):
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding, dilation, bias,
                 device, dtype, generator):
        super().__init__()
        layer = type(self).__name__
        self.in_channels = checks.integer(layer, "in_channels", in_channels, minimum=1)
        self.out_channels = checks.integer(layer, "out_channels", out_channels, minimum=1)
        self.kernel_size, self.stride = _pair(layer, "kernel_size", kernel_size, 1), _pair(layer, "stride", stride, 1)
        self.padding, self.dilation = _pair(layer, "padding", padding, 0), _pair(layer, "dilation", dilation, 1)
        self.output_padding = _pair(layer, "output_padding", output_padding, 0)
        channels = (in_channels, out_channels) if self.transposed else (out_channels, in_channels)
        self.weight = _parameter(channels + self.kernel_size, device, dtype)
        self.register_parameter("bias", _parameter((out_channels,), device, dtype) if bias else None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        _reset_like_torch(self.weight, self.bias, generator)  # fan_in = weight.shape[1] kh kw, as torch

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for name, default in (("padding", (0, 0)), ("dilation", (1, 1)), ("output_padding", (0, 0))):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text + ("" if self.bias is not None else ", bias=False")


def _pair(layer, name, value, minimum):
    """An int or a pair of ints, each at least ``minimum``, as the (h, w) pair."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    return checks.integers(layer, name, values, minimum)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation), weight (out_channels, in_channels, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, *, bias=True,
                 device="cpu", dtype=None, generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, dilation, bias,
                         device, dtype, generator)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class ConvTranspose2d(_Conv):
    """2-D transposed convolution (the adjoint of Conv2d), weight (in_channels, out_channels, kh, kw)."""
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, *,
                 bias=True, dilation=1, device="cpu", dtype=None, generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, dilation, bias,
                         device, dtype, generator)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  dilation=self.dilation)


class _BatchNorm(Module):
    input_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device="cpu", dtype=None, *, bias=True):
        super().__init__()
        layer = type(self).__name__
        self.num_features = checks.integer(layer, "num_features", num_features, minimum=1)
        self.eps = checks.number(layer, "eps", eps, lambda v: v > 0, "> 0")
        self.momentum = momentum if momentum is None else checks.number(layer, "momentum", momentum,
                                                                        lambda v: 0 <= v <= 1, "in [0, 1] (or None)")
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter(ones(num_features, dtype=dtype, device=device)) if affine else None)
        self.register_parameter("bias", _parameter((num_features,), device, dtype) if affine and bias else None)
        stats = dict(running_mean=zeros(num_features, dtype=dtype, device=device),
                     running_var=ones(num_features, dtype=dtype, device=device),
                     num_batches_tracked=Tensor(backend.module_for(device).zeros((), np.int64)))
        for name, value in stats.items():  # without tracking, every batch normalises by its own statistics
            self.register_buffer(name, value if track_running_stats else None)

    def forward(self, x):
        if x.ndim not in self.input_dims:
            raise ValueError(f"{type(self).__name__}: expected a {' or '.join(map(str, self.input_dims))}-D input, "
                             f"got shape {x.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # a cumulative average over the batches seen
                momentum = 1.0 / int(self.num_batches_tracked.item())
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C."""
    input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C."""
    input_dims = (4,)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = checks.number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Dropout(Module):
    """Inverted dropout in training (see F.dropout), the identity in eval."""

    def __init__(self, p=0.5, *, generator=None):
        super().__init__()
        self.p, self.generator = checks.number("Dropout", "p", p, lambda v: 0 <= v <= 1, "in [0, 1]"), generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"  # torch's; minigan's dropout never works in place


class Flatten(Module):
    """Axes start_dim..end_dim merged into one: (N, C, H, W) -> (N, C H W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = (checks.integer("Flatten", name, d) for name, d in (("start_dim", start_dim),
                                                                                          ("end_dim", end_dim)))

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis ``dim`` split into ``unflattened_size``: Unflatten(1, (C, H, W)) takes (N, C H W) to (N, C, H, W)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = checks.integer("Unflatten", "dim", dim)
        self.unflattened_size = checks.integers("Unflatten", "unflattened_size", unflattened_size, minimum=-1)

    def forward(self, x):
        dim = self.dim % x.ndim
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
