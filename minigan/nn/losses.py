"""Losses, each elementwise (or per sample) then reduced: reduction "mean" (default), "sum" or "none".

Targets are constants in GAN training, but a target that requires grad gets its gradient too, as
torch's (binary_cross_entropy's stays finite at p = 0 or 1, where torch's is infinite).
"""
import numpy as np

from ..backend import array_module, kernel
from ..ops.activation import Sigmoid, log_softmax
from ..ops.shape import getitem
from ..tensor import Function, Tensor

REDUCTIONS = ("mean", "sum", "none")
TORCH_EPSILON = float(np.float32(1e-12))


@kernel
def bce_with_logits_forward(logits, target):
    # -[t log s(x) + (1 - t) log(1 - s(x))] = max(x, 0) - x t + log(1 + e^-|x|): exp never overflows
    xp = array_module(logits)
    return xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))


@kernel
def bce_with_logits_backward(logits, target, grad):
    # d loss / dx = sigmoid(x) - t
    return grad * (Sigmoid.call(logits) - target)


class BinaryCrossEntropyWithLogits(Function):
    def forward(self, logits, target):
        self.save_for_backward(logits, target)
        return bce_with_logits_forward(logits, target)

    # d/dx = sigmoid(x) - t, d/dt = -x
    def backward(self, grad):
        logits, target = self.saved
        grad_target = -grad * logits if self.needs_input_grad[1] else None
        return bce_with_logits_backward(logits, target, grad), grad_target


def _clamped_logs(p):
    """log p and log(1 - p), each clamped to >= -100 as torch's (log 0 = -inf)."""
    xp = array_module(p)
    with np.errstate(divide="ignore"):
        return xp.maximum(xp.log(p), -100), xp.maximum(xp.log1p(-p), -100)


class BinaryCrossEntropy(Function):
    def forward(self, p, target):
        if array_module(p).any((p < 0) | (p > 1)):
            raise ValueError("input values must be between 0 and 1 (probabilities; "
                             "for logits use binary_cross_entropy_with_logits)")
        log_p, log_q = _clamped_logs(p)
        self.save_for_backward(p, target)
        return -(target * log_p + (1 - target) * log_q)

    # d/dp = (p - t) / (p (1 - p)), the denominator kept >= torch's float32 1e-12;
    # d/dt = log(1 - p) - log p, with the clamped logs (torch's is infinite at p = 0 or 1)
    def backward(self, grad):
        p, target = self.saved
        grad_p = grad * (p - target) / array_module(grad).maximum(p * (1 - p), TORCH_EPSILON)
        if not self.needs_input_grad[1]:
            return grad_p, None
        log_p, log_q = _clamped_logs(p)
        return grad_p, grad * (log_q - log_p)


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check(op, input, target, reduction):
    _check_reduction(op, reduction)
    if tuple(input.shape) != tuple(getattr(target, "shape", ())):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(getattr(target, 'shape', ()))} differ")


def binary_cross_entropy_with_logits(input, target, *, reduction="mean"):
    """-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] for logits x, computed so that it stays finite
    for any logit (as torch.nn.functional.binary_cross_entropy_with_logits)."""
    _check("binary_cross_entropy_with_logits", input, target, reduction)
    return _reduce(BinaryCrossEntropyWithLogits.apply(input, target), reduction)


def binary_cross_entropy(input, target, *, reduction="mean"):
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in [0, 1], each log clamped to >= -100 as torch."""
    _check("binary_cross_entropy", input, target, reduction)
    return _reduce(BinaryCrossEntropy.apply(input, target), reduction)


def mse_loss(input, target, *, reduction="mean"):
    """(input - target)^2."""
    _check("mse_loss", input, target, reduction)
    diff = input - target
    return _reduce(diff * diff, reduction)


def cross_entropy(input, target, *, reduction="mean"):
    """-log softmax(input)[n, target[n]] for logits (N, K) and integer class labels (N,) in [0, K)."""
    _check_reduction("cross_entropy", reduction)
    xp = input._xp
    labels = xp.asarray(target.data if isinstance(target, Tensor) else target)
    if input.ndim != 2 or tuple(labels.shape) != input.shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(f"cross_entropy: expected logits (N, K) and integer labels (N,), got logits of shape "
                         f"{input.shape} and labels of shape {tuple(labels.shape)}, dtype {labels.dtype}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= input.shape[1]):
        raise ValueError(f"cross_entropy: labels must lie in [0, {input.shape[1]}) for logits of shape {input.shape}")
    picked = getitem(log_softmax(input, axis=1), (xp.arange(len(input)), labels))
    return _reduce(-picked, reduction)
