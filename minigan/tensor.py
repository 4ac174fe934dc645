"""The engine: Tensor, Function and reverse-mode backward. Nothing else.

A Tensor holds an array (NumPy or CuPy) and, if an op made it, that op's
Function node (``grad_fn``), whose ``inputs`` are the Tensors it was applied to.
``loss.backward()`` orders that graph, then walks it from the loss to the leaves,
asking each Function for the gradients of its inputs.

Each backward is written once. By default the engine calls it on arrays: it computes the
gradients and records nothing. With ``create_graph=True`` it calls the same backward with the
gradient and the saved arrays as Tensors (an input's array stands for that input, the output's
for the output, any other is a constant), so that its lines apply ops that record a graph of
their own: the gradients can be differentiated again.
"""
from contextlib import contextmanager

import numpy as np

from . import backend


class _GradMode:
    enabled = True


@contextmanager
def _grad_mode(enabled):
    previous, _GradMode.enabled = _GradMode.enabled, enabled
    try:
        yield
    finally:
        _GradMode.enabled = previous


def no_grad():
    """Inside this block ops record no graph (as torch.no_grad)."""
    return _grad_mode(False)


def enable_grad():
    """Inside this block ops record a graph again, even within ``no_grad`` (as torch.enable_grad)."""
    return _grad_mode(True)


def is_grad_enabled():
    return _GradMode.enabled


class Function:
    """A differentiable op. Subclass it with ``forward`` and ``backward``, then call ``apply``.

    ``forward(*arrays, **params)`` gets the inputs' arrays and returns the output array;
    ``backward(grad)`` gets the output's gradient and returns one gradient (or None)
    per input, each of that input's shape. Use ``self.save_for_backward(...)`` and
    ``self.saved`` for arrays that backward needs, and ``self.needs_input_grad``
    to skip gradients nobody asked for.

    To be differentiated twice (``create_graph=True``), backward must also run on Tensors:
    it then gets ``grad`` and ``self.saved`` as Tensors (a saved input or output array as that
    input or output Tensor; any other saved array stays a constant, so save the inputs and
    the output, not values derived from them, unless they are piecewise constant, as masks
    are), and it takes ``xp = array_module(grad)``, which for a Tensor is minigan's ops under
    NumPy's names. A backward that uses another op calls it with ``OtherOp.call``.
    """

    def __init__(self):
        self.inputs = self.input_arrays = ()
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
        arrays = _distinct_arrays(tensors)
        try:
            raw = fn.forward(*arrays, **params)
        except ValueError as e:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"{fn.name}: {e} (input shapes {shapes})") from e
        out = backend.array_module(raw).asarray(raw)  # NumPy gives 0-d results as scalars
        if out is not raw:  # a saved scalar output is the output
            fn.saved = tuple(out if a is raw else a for a in fn.saved)
        requires_grad = is_grad_enabled() and any(fn.needs_input_grad)
        if not requires_grad:
            return Tensor(out)
        fn.inputs, fn.input_arrays = tensors, arrays
        return Tensor(out, requires_grad=True, grad_fn=fn)

    @classmethod
    def call(cls, *inputs, **params):
        """This op inside another op's backward: ``apply`` (a Tensor, with a graph) when an input is a
        Tensor, as it is when a graph is being built; else ``forward`` on the arrays (an array, nothing
        recorded or kept)."""
        if any(isinstance(x, Tensor) for x in inputs):
            return cls.apply(*inputs, **params)
        fn = cls()
        fn.needs_input_grad = (False,) * len(inputs)
        return fn.forward(*inputs, **params)

    def saved_tensors(self, output):
        """``saved`` as backward sees it when it builds a graph: each of forward's input arrays as its
        input Tensor, the output's array as ``output``, and every other array as it is (a constant)."""
        tensors = {id(output.data): output}
        tensors.update((id(a), t) for a, t in zip(self.input_arrays, self.inputs))
        return tuple(tensors.get(id(a), a) for a in self.saved)

    def release(self):
        """Drop what forward saved; a second backward through this node then fails clearly."""
        self.saved = ()
        self.freed = True


def _distinct_arrays(tensors):
    """The tensors' arrays, for forward. A second Tensor on an array already passed (x and
    x.detach()) gets a view of it, so that an array forward saves names one input."""
    arrays = [t.data for t in tensors]
    if len(arrays) == 1 or (len(arrays) == 2 and arrays[0] is not arrays[1]):
        return arrays  # the usual case, checked first: every op call goes through here
    owners = {}
    for i, t in enumerate(tensors):
        if owners.setdefault(id(arrays[i]), t) is not t:
            arrays[i] = arrays[i].view()
    return arrays


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

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Fill ``.grad`` of every leaf that this tensor depends on. With ``create_graph=True`` the
        gradients carry a graph, to be differentiated again; ``retain_graph`` defaults to it."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
        grad = _output_grad("backward", self, grad, create_graph)
        _run_backward([self], [grad], create_graph if retain_graph is None else retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` (a Tensor or a sequence) with respect to ``inputs``, as
    torch.autograd.grad: a tuple with one Tensor per input, and no ``.grad`` touched. Only the part
    of the graph between them is walked. ``grad_outputs`` (one per output) defaults to ones for a
    one-element output. An input that the outputs do not depend on raises, unless ``allow_unused``:
    then its gradient is None. With ``create_graph=True`` the gradients carry a graph, to be
    differentiated again; ``retain_graph`` defaults to ``create_graph``."""
    outputs, inputs = _sequence(outputs), _sequence(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _sequence(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for kind, tensors in (("output", outputs), ("input", inputs)):
        for i, t in enumerate(tensors):
            if not (isinstance(t, Tensor) and t.requires_grad):
                raise RuntimeError(f"grad: {kind} {i} is not a Tensor that requires grad")
    root_grads = [_output_grad("grad", y, g, create_graph) for y, g in zip(outputs, grad_outputs)]
    reached = _run_backward(outputs, root_grads, create_graph if retain_graph is None else retain_graph,
                            create_graph, inputs)
    grads = []
    for i, x in enumerate(inputs):
        g = reached.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) is not used to compute the outputs; "
                               "pass allow_unused=True to get None as its gradient")
        grads.append(g if g is None or create_graph else Tensor(g))
    return tuple(grads)


def _sequence(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _output_grad(op, y, grad, create_graph):
    """The gradient that starts a backward from ``y``: ones for a one-element y; a Tensor when
    building a graph (so a grad that requires grad is differentiated too), else an array."""
    if grad is None:
        if y.size != 1:
            raise RuntimeError(f"{op}: grad can be implied only for a scalar output, this one has shape "
                               f"{y.shape}; pass {'grad=' if op == 'backward' else 'grad_outputs='}")
        grad = y._xp.ones_like(y.data)
    elif not isinstance(grad, Tensor):
        grad = y._xp.asarray(grad, dtype=y.dtype)
    if grad.shape != y.data.shape:
        raise ValueError(f"{op}: grad of shape {grad.shape} for a tensor of shape {y.shape}")
    if create_graph:
        return grad if isinstance(grad, Tensor) else Tensor(grad)
    return grad.data if isinstance(grad, Tensor) else grad


def _topological_order(roots):
    """Every tensor that ``roots`` depend on (through tensors that require grad), inputs first."""
    order, seen, stack = [], set(), [(root, False) for root in reversed(roots)]
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


def _depending_on(order, inputs):
    """The ids of the tensors in ``order`` that are, or depend on, one of ``inputs``."""
    ids = {id(x) for x in inputs}
    for t in order:  # inputs first: a tensor comes after everything it depends on
        if t.grad_fn is not None and any(id(x) in ids for x in t.grad_fn.inputs):
            ids.add(id(t))
    return ids


def _run_backward(roots, root_grads, retain_graph, create_graph, inputs=None):
    """Send ``root_grads`` back from ``roots``. Without ``inputs``, into ``.grad`` of the leaves (and of
    tensors that retain_grad); with them, only along paths to them, returning {id(input): gradient}."""
    order = _topological_order(roots)
    wanted = None if inputs is None else _depending_on(order, inputs)
    grads = {}
    for root, g in zip(roots, root_grads):
        grads[id(root)] = g if id(root) not in grads else grads[id(root)] + g
    if not create_graph:
        return _walk(order, grads, retain_graph, False, inputs, wanted)
    with enable_grad():  # the gradients' ops record a graph, even inside no_grad
        return _walk(order, grads, retain_graph, True, inputs, wanted)


def _walk(order, grads, retain_graph, create_graph, inputs, wanted):
    """The walk from the outputs (``order`` reversed): each tensor's gradient is complete when it is reached."""
    input_ids = {id(x) for x in inputs or ()}
    reached = {}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if t._hooks:
            g = _run_hooks(t, g, create_graph)
        if inputs is None:
            if t.grad_fn is None or t._retains_grad:
                _accumulate(t, g, create_graph)
        elif id(t) in input_ids:
            reached[id(t)] = g
        if t.grad_fn is not None:
            _propagate(t, g, grads, create_graph, wanted)
            if not retain_graph:
                t.grad_fn.release()
    return reached


def _run_hooks(t, g, create_graph):
    for hook in t._hooks:
        replaced = hook(g if create_graph else Tensor(g))
        if replaced is not None:
            g = replaced if create_graph else replaced.data
    return g


def _accumulate(t, g, create_graph):
    """``t.grad += g``. A first gradient is copied (g may be shared with another tensor): an array
    in g's own memory order (a C-order copy of a channels-last gradient would transpose it, several
    times slower), or with a graph, a new Tensor still in it."""
    if create_graph:
        t.grad = g + 0.0 if t.grad is None else t.grad + g
    else:
        t.grad = Tensor(g.copy(order="K") if t.grad is None else t.grad.data + g)


def _propagate(t, grad, grads, create_graph, wanted):
    """Ask ``t.grad_fn`` for its inputs' gradients (those in ``wanted``, if given) and add them to ``grads``."""
    fn = t.grad_fn
    if wanted is None:
        input_grads = _backward_with_graph(fn, grad, t) if create_graph else fn.backward(grad)
    else:  # ask only for the gradients on the way to the inputs
        recorded = fn.needs_input_grad
        fn.needs_input_grad = tuple(n and id(x) in wanted for n, x in zip(recorded, fn.inputs))
        if not any(fn.needs_input_grad):
            fn.needs_input_grad = recorded
            return
        try:
            input_grads = _backward_with_graph(fn, grad, t) if create_graph else fn.backward(grad)
        finally:
            fn.needs_input_grad = recorded
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    for x, g in zip(fn.inputs, input_grads):
        if g is None or not x.requires_grad or (wanted is not None and id(x) not in wanted):
            continue
        if g.shape != x.data.shape:
            raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {g.shape} "
                               f"for an input of shape {x.shape}")
        if not create_graph:
            g = g.astype(x.dtype, copy=False)
        elif not isinstance(g, Tensor):
            raise RuntimeError(f"{fn.name}.backward returned an array, not a Tensor, with create_graph=True: "
                               "its gradient would carry no graph (does it compute on arrays of its own?)")
        grads[id(x)] = g if id(x) not in grads else grads[id(x)] + g


def _backward_with_graph(fn, grad, output):
    """``fn.backward(grad)`` on Tensors: grad, and ``fn.saved`` as ``fn.saved_tensors(output)``, so that
    its lines record a graph. A backward that cannot take Tensors fails naming the op."""
    arrays, fn.saved = fn.saved, fn.saved_tensors(output)
    try:
        return fn.backward(grad)
    except Exception as e:
        raise RuntimeError(f"{fn.name}.backward failed on Tensors, so create_graph=True cannot differentiate "
                           f"it: {type(e).__name__}: {e}") from e
    finally:
        fn.saved = arrays
