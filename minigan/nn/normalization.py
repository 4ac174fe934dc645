"""Batch normalisation (Ioffe & Szegedy 2015) per channel (axis 1) of (N, C) or (N, C, H, W) inputs.

Training: normalise by the batch's own mean and biased variance, and move the running
estimates towards the batch's mean and unbiased variance (as torch). Eval: the running
estimates make it a fixed affine map per channel, y = x scale + shift.
"""
from ..backend import array_module, kernel
from ..tensor import Function, Tensor


def _channel_shape(x):
    """The shape that broadcasts a (C,) vector along axis 1 of x."""
    return (1, -1) + (1,) * (x.ndim - 2)


def _subscripts(a):
    """einsum's subscripts for a (N, C, ...): n, c and a letter per further axis. einsum reads any
    strides, so a view (a transposed convolution's output, say) is summed without a copy."""
    return "nc" + "hwxyz"[:a.ndim - 2]


def _channel_sum(a):
    """sum(a) per channel (axis 1): einsum takes half the time of sum(axis=(0, 2, 3)) on
    channels-last memory."""
    return array_module(a).einsum(f"{_subscripts(a)}->c", a)


def _channel_dot(a, b):
    """sum(a b) per channel (axis 1), without the product's temporary."""
    return array_module(a).einsum(f"{_subscripts(a)},{_subscripts(b)}->c", a, b)


def _statistics(x):
    """(mean, x - mean, var): the batch's mean and biased variance per channel, and x centred."""
    m = x.size // x.shape[1]
    mean = _channel_sum(x) / m
    centred = x - mean.reshape(_channel_shape(x))
    return mean, centred, _channel_dot(centred, centred) / m


@kernel
def batch_norm_forward(x, weight, bias, eps):
    """(y, mean, var): y = (x - mean) / sqrt(var + eps) weight + bias, with the batch's mean and
    biased variance per channel."""
    shape = _channel_shape(x)
    mean, y, var = _statistics(x)  # y centred; scaled and shifted in place below
    y *= (weight / array_module(x).sqrt(var + eps)).reshape(shape)
    y += bias.reshape(shape)
    return y, mean, var


@kernel
def batch_norm_backward(grad, x, mean, var, weight, eps):
    """(grad_x, grad_weight, grad_bias) in closed form. With xhat = (x - mean) / sqrt(var + eps) and
    the batch means E over each channel's m elements (mean and var depend on every x):
    grad_x = weight / sqrt(var + eps) (grad - E[grad] - xhat E[grad xhat]),
    grad_weight = sum(grad xhat), grad_bias = sum(grad).
    On Tensors (a graph being built) ``a *= b`` is ``a = a * b``: Tensors have no in-place ops."""
    shape = _channel_shape(x)
    m = x.size // x.shape[1]
    inv_std = 1 / array_module(x).sqrt(var + eps)
    centred = x - mean.reshape(shape)
    grad_bias = _channel_sum(grad)
    grad_weight = _channel_dot(grad, centred) * inv_std
    scale = weight * inv_std
    # grad_x = scale grad + (centred k + k0), k = -scale inv_std E[grad xhat], k0 = -scale E[grad]
    centred *= (-scale * inv_std * grad_weight / m).reshape(shape)
    centred -= (scale * grad_bias / m).reshape(shape)
    grad_x = grad * scale.reshape(shape)
    grad_x += centred
    return grad_x, grad_weight, grad_bias


class BatchNorm(Function):
    def forward(self, x, weight, bias, eps, running=None, momentum=0.1):
        y, mean, var = batch_norm_forward(x, weight, bias, eps)
        self.eps = eps
        self.save_for_backward(x, mean, var, weight)
        if running is not None:
            _update_running(*running, mean, var, momentum, x.size // x.shape[1])
        return y

    # with a graph (x a Tensor), mean and var are taken from x again: they depend on it, so their
    # derivatives count; on arrays, forward's are reused
    def backward(self, grad):
        x, mean, var, weight = self.saved
        if isinstance(x, Tensor):
            mean, _, var = _statistics(x)
        return batch_norm_backward(grad, x, mean, var, weight, self.eps)


def _update_running(running_mean, running_var, mean, var, momentum, count):
    """running = (1 - momentum) running + momentum batch, in place, with the unbiased variance."""
    running_mean += momentum * (mean - running_mean)
    running_var += momentum * (var * (count / (count - 1)) - running_var)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over axis 1 of x (N, C, ...), as torch.nn.functional.batch_norm.

    training: the batch's statistics normalise, and running_mean/running_var (Tensors of shape
    (C,), or None) are updated in place. Otherwise the running statistics normalise.
    weight and bias (C,) default to ones and zeros."""
    c = _check(x, running_mean, running_var, weight, bias, training)
    xp = x._xp
    weight = xp.ones(c, x.dtype) if weight is None else weight
    bias = xp.zeros(c, x.dtype) if bias is None else bias
    if training:
        running = None if running_mean is None else (running_mean.data, running_var.data)
        return BatchNorm.apply(x, weight, bias, eps=eps, running=running, momentum=momentum)
    scale = weight / xp.sqrt(running_var.data + eps)  # y = (x - running_mean) scale + bias
    shift = bias - running_mean.data * scale
    shape = _channel_shape(x)
    return x * scale.reshape(shape) + shift.reshape(shape)


def _check(x, running_mean, running_var, weight, bias, training):
    """The channel count, or a ValueError naming the shapes."""
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    for name, t in dict(running_mean=running_mean, running_var=running_var, weight=weight, bias=bias).items():
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)}, expected ({c},) for input {x.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if training and x.size // c <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input {x.shape}")
    if not training and running_mean is None:
        raise ValueError(f"batch_norm: eval mode (training=False) needs running statistics (input {x.shape})")
    return c
