"""Fully connected layers and what the 2014 MLP GAN builds with them: linear, maxout, dropout."""
from ..backend import array_module
from ..random import default_generator
from ..tensor import Function


class Linear(Function):
    def forward(self, x, w, b=None):
        self.save_for_backward(x, w)
        y = x @ w.T
        if b is not None:
            y += b
        return y

    # y = x W^T + b: grad_x = grad W, grad_W = grad^T x and grad_b = sum of grad, both summed
    # over every leading (batch) axis
    def backward(self, grad):
        x, w = self.saved
        rows = grad.reshape(-1, grad.shape[-1])  # (batch...) out
        gx = grad @ w if self.needs_input_grad[0] else None
        gw = rows.T @ x.reshape(-1, x.shape[-1]) if self.needs_input_grad[1] else None
        return (gx, gw) + ((rows.sum(axis=0),) if len(self.needs_input_grad) == 3 else ())


def linear(x, weight, bias=None):
    """x W^T + b for x (..., in), weight (out, in) and bias (out,), as torch.nn.functional.linear."""
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                         "(expected input (..., in) and weight (out, in))")
    if bias is not None and tuple(bias.shape) != weight.shape[:1]:
        raise ValueError(f"linear: bias of shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
    return Linear.apply(x, weight, *([] if bias is None else [bias]))


class Maxout(Function):
    # a loop over the few pieces: np.maximum on (..., units) views, much faster than .max over a short axis
    def forward(self, x, pieces):
        xp, x = array_module(x), x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces))  # ... u k
        out = x[..., 0].copy()
        for j in range(1, pieces):
            xp.maximum(out, x[..., j], out=out)
        self.save_for_backward(x, out)
        return out

    # y = max_j x_j: grad_x_j = grad [x_j = y] / (number of j with x_j = y), ties sharing as torch.amax
    def backward(self, grad):
        x, out = self.saved
        xp = array_module(grad)
        wins = [xp.equal(x[..., j], out) for j in range(x.shape[-1])]  # constants: ... u
        share = grad / sum(wins[1:], wins[0].astype(grad.dtype))
        return xp.stack([won * share for won in wins], axis=-1).reshape(x.shape[:-2] + (-1,))  # ... (u k)


def maxout(x, pieces):
    """Maxout units (Goodfellow et al. 2013): the last axis, of size units * pieces, holds each unit's
    pieces side by side, (units, pieces); each unit outputs the max of its pieces: (..., units).

        maxout(x, k)[..., u] = max_j x[..., u * k + j]

    The gradient goes to the winning piece (split evenly between exact ties)."""
    if x.ndim < 1 or pieces < 1 or x.shape[-1] % pieces:
        raise ValueError(f"maxout: the last axis of input {x.shape} must be a multiple of pieces={pieces}")
    return Maxout.apply(x, pieces=pieces)


def dropout(x, p=0.5, training=True, *, generator=None):
    """Inverted dropout: in training each element is zeroed with probability p and the rest scaled
    by 1 / (1 - p), so the expectation is unchanged; outside training, x itself. The mask comes
    from ``generator`` (default: minigan's default generator)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must lie in [0, 1], got {p}")
    if not training or p == 0:
        return x
    keep = (generator or default_generator).bernoulli(x.shape, 1 - p, x.device)
    scale = keep / (1 - p) if p < 1 else keep * 0.0
    return x * scale.astype(x.dtype)
