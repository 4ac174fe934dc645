"""The engine: Tensor, Function and reverse-mode backward. Nothing else.

A Tensor holds an array (NumPy or CuPy) and, if an op made it, that op's
Function node (``grad_fn``), whose ``inputs`` are the Tensors it was applied to.
``loss.backward()`` orders that graph, then walks it from the loss to the leaves,
asking each Function for the gradients of its inputs.
"""
from contextlib import contextmanager

import numpy as np

from . import backend


class _GradMode:
    enabled = True


@contextmanager
def no_grad():
    """Inside this block ops record no graph (as torch.no_grad)."""
    previous, _GradMode.enabled = _GradMode.enabled, False
    try:
        yield
    finally:
        _GradMode.enabled = previous


def is_grad_enabled():
    return _GradMode.enabled


class Function:
    """A differentiable op. Subclass it with ``forward`` and ``backward``, then call ``apply``.

    ``forward(*arrays, **params)`` gets the inputs' arrays and returns the output array;
    ``backward(grad)`` gets the output's gradient and returns one gradient (or None)
    per input, each of that input's shape. Use ``self.save_for_backward(...)`` and
    ``self.saved`` for arrays that backward needs, and ``self.needs_input_grad``
    to skip gradients nobody asked for.
    """

    def __init__(self):
        self.inputs = ()
        self.needs_input_grad = ()
        self.saved = ()
        self.freed = False

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} backward>"

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls()
        tensors = _as_tensors(fn.name, inputs)
        fn.needs_input_grad = tuple(t.requires_grad for t in tensors)
        try:
            out = fn.forward(*(t.data for t in tensors), **params)
            out = backend.array_module(out).asarray(out)  # NumPy gives 0-d results as scalars
        except ValueError as e:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"{fn.name}: {e} (input shapes {shapes})") from e
        requires_grad = is_grad_enabled() and any(fn.needs_input_grad)
        if not requires_grad:
            return Tensor(out)
        fn.inputs = tensors
        return Tensor(out, requires_grad=True, grad_fn=fn)

    @classmethod
    def call(cls, *inputs, **params):
        """The op on Tensors (``apply``: a node in the graph) or on arrays (its ``forward``: an array, no
        graph). A backward that uses another op calls it so: on arrays for a gradient, on Tensors for
        a gradient that is itself differentiated."""
        if any(isinstance(x, Tensor) for x in inputs):
            return cls.apply(*inputs, **params)
        return cls().forward(*inputs, **params)

    def release(self):
        """Drop what forward saved; a second backward through this node then fails clearly."""
        self.saved = ()
        self.freed = True


def _as_tensors(op, inputs):
    """Tensors stay; scalars and arrays become constants of the first Tensor's dtype and device."""
    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    if like is None:
        raise TypeError(f"{op}: expected at least one Tensor input")
    tensors = []
    for x in inputs:
        if not isinstance(x, Tensor):  # a raw array keeps its device, so mixing is caught below
            xp = like._xp if isinstance(x, (int, float, list, tuple)) else backend.array_module(x)
            x = Tensor(xp.asarray(x, dtype=like.dtype))
        if not backend.is_float(x.dtype):
            raise TypeError(f"{op}: expected floating-point tensors, got {x.dtype} of shape {x.shape}")
        if x.device != like.device:
            raise RuntimeError(f"{op}: tensors on different devices, {like.device} "
                               f"{like.shape} and {x.device} {x.shape}")
        tensors.append(x)
    return tensors


class Tensor:
    """An n-dimensional array that remembers how it was computed."""

    __array_priority__ = 1000  # ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, grad_fn=None):
        self.data = data
        self.grad = None
        self.grad_fn = grad_fn
        self.name = None
        self._hooks = []
        self._retains_grad = False
        self.requires_grad = requires_grad

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and not backend.is_float(self.dtype):
            raise TypeError(f"only floating-point tensors can require grad, got {self.dtype}")
        self._requires_grad = bool(value)

    @property
    def _xp(self):
        return backend.array_module(self.data)

    shape = property(lambda self: tuple(self.data.shape))
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: int(self.data.size))
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self.grad_fn is None)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        grad = f", grad_fn={self.grad_fn.name}" if self.grad_fn else (
            ", requires_grad=True" if self.requires_grad else "")
        device = "" if self.device == "cpu" else f", device='{self.device}'"
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        return f"tensor({body}{device}, dtype={self.dtype}{grad})"

    def numpy(self):
        """The data as a NumPy array (copied from the GPU if need be)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors convert to Python scalars, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def to(self, device):
        """A copy on ``device`` ("cpu" or "cuda"); gradients flow back to this tensor."""
        if not (self.requires_grad and is_grad_enabled()):
            return Tensor(backend.to_device(self.data, backend.check_device(device)))
        from .ops.shape import to_device
        return to_device(self, backend.check_device(device))

    def detach(self):
        return Tensor(self.data)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is known; a Tensor it returns replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require grad")
        self._hooks.append(hook)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor too, as leaves do."""
        self._retains_grad = True

    def backward(self, grad=None, retain_graph=False):
        """Fill ``.grad`` of every leaf that this tensor depends on."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward: grad can be implied only for a scalar output, "
                                   f"this one has shape {self.shape}; pass grad=")
            grad = self._xp.ones_like(self.data)
        grad = grad.data if isinstance(grad, Tensor) else self._xp.asarray(grad, dtype=self.dtype)
        if grad.shape != self.data.shape:
            raise ValueError(f"backward: grad of shape {grad.shape} for a tensor of shape {self.shape}")
        _run_backward(self, grad, retain_graph)


def _topological_order(root):
    """Every tensor that ``root`` depends on (through tensors that require grad), inputs first."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            if t.grad_fn.freed:
                raise RuntimeError(
                    f"backward: trying to go through the graph a second time ({t.grad_fn.name} "
                    "was freed by an earlier backward); pass retain_graph=True to the first one")
            stack.extend((x, False) for x in t.grad_fn.inputs if x.requires_grad and id(x) not in seen)
    return order


def _run_backward(root, grad, retain_graph):
    order = _topological_order(root)
    grads = {id(root): grad}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        for hook in t._hooks:
            replaced = hook(Tensor(g))
            g = g if replaced is None else replaced.data
        if t.grad_fn is None or t._retains_grad:
            # a copy (g may be shared), in g's own memory order: a C-order copy of a channels-last
            # gradient would transpose it, several times slower
            t.grad = Tensor(g.copy(order="K") if t.grad is None else t.grad.data + g)
        if t.grad_fn is not None:
            _propagate(t.grad_fn, g, grads)
            if not retain_graph:
                t.grad_fn.release()


def _propagate(fn, grad, grads):
    """Ask ``fn`` for its inputs' gradients and add them to ``grads``."""
    input_grads = fn.backward(grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for x, g in zip(fn.inputs, input_grads):
        if g is None or not x.requires_grad:
            continue
        if g.shape != x.data.shape:
            raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {g.shape} "
                               f"for an input of shape {x.shape}")
        g = g.astype(x.dtype, copy=False)
        grads[id(x)] = g if id(x) not in grads else grads[id(x)] + g
