"""Making tensors: tensor, zeros, ones, full, arange, randn, rand and their *_like."""
import numpy as np

from . import backend, checks
from .random import default_generator
from .tensor import Tensor


def tensor(data, requires_grad=False, dtype=None, device="cpu"):
    """A new leaf tensor. Python floats become float32 (the default dtype), ints int64;
    an array keeps its dtype unless ``dtype`` is given, as torch.tensor does."""
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "dtype"):
        data = backend.to_device(data, device)
    elif dtype is None:
        dtype = _python_dtype(data)
    return Tensor(backend.module_for(device).array(data, dtype=dtype), requires_grad=requires_grad)


def _python_dtype(data):
    kind = np.asarray(data).dtype.kind
    return backend.default_dtype if kind == "f" else None


def _shape(where, shape):
    """(2, 3) and ((2, 3),) alike, as torch's zeros(2, 3) and zeros((2, 3)): sizes, ints >= 0."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    return checks.integers(where, "sizes", shape, minimum=0)


def _dtype(dtype):
    return backend.default_dtype if dtype is None else np.dtype(dtype)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    return _filled("full", shape if isinstance(shape, (tuple, list)) else (shape,), fill_value, dtype, device,
                   requires_grad)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("zeros", shape, 0, dtype, device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _filled("ones", shape, 1, dtype, device, requires_grad)


def _filled(op, shape, fill_value, dtype, device, requires_grad):
    return Tensor(backend.module_for(device).full(_shape(op, shape), fill_value, dtype=_dtype(dtype)),
                  requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    checks.number("arange", "step", step, lambda v: v != 0, "other than 0")
    if end is None:
        start, end = 0, start
    if dtype is None and all(isinstance(v, int) for v in (start, end, step)):
        dtype = np.int64
    return Tensor(backend.module_for(device).arange(start, end, step, dtype=_dtype(dtype)))


def randn(*shape, dtype=None, device="cpu", requires_grad=False, generator=None):
    generator = generator or default_generator
    return Tensor(generator.normal(_shape("randn", shape), dtype, device), requires_grad=requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False, generator=None):
    generator = generator or default_generator
    return Tensor(generator.uniform(_shape("rand", shape), dtype, device), requires_grad=requires_grad)


def _like(factory):
    def like(t, *args, dtype=None, device=None, requires_grad=False, **kwargs):
        return factory(t.shape, *args, dtype=dtype or t.dtype, device=device or t.device,
                       requires_grad=requires_grad, **kwargs)
    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"{factory.__name__} with the shape, dtype and device of ``t``."
    return like


zeros_like, ones_like, full_like, randn_like, rand_like = map(_like, (zeros, ones, full, randn, rand))
