"""Module and Parameter, as torch.nn's (the layers built on them are in layers.py).

A Module finds its Parameters, buffers and sub-modules from attribute assignment (``self.fc =
Linear(...)``), as torch does, so parameters(), state_dict() and train()/eval() walk the tree.
"""
from collections import OrderedDict, namedtuple

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (requires grad by default)."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and networks: subclass it, assign layers and Parameters in __init__
    (after ``super().__init__()``) and write ``forward``; call the module to run it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- registration, by attribute assignment as in torch
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call")
        registry = ("_parameters" if isinstance(value, Parameter) else "_modules" if isinstance(value, Module)
                    else next((r for r in _REGISTRIES if name in self.__dict__[r]), None))
        if registry is None:
            object.__setattr__(self, name, value)
        else:
            self._register(registry, name, value)

    def __getattr__(self, name):  # called only when normal lookup fails
        for registry in _REGISTRIES:
            if name in self.__dict__.get(registry, {}):
                return self.__dict__[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in _REGISTRIES:
            if name in self.__dict__[registry]:
                del self.__dict__[registry][name]
                return
        object.__delattr__(self, name)

    def _register(self, registry, name, value):
        """Put ``value`` (or None) under ``name`` in one registry, and nowhere else."""
        if value is not None and not isinstance(value, _REGISTRIES[registry]):
            raise TypeError(f"cannot assign a {type(value).__name__} to {name!r}: expected a "
                            f"{_REGISTRIES[registry].__name__} or None")
        for r in _REGISTRIES:
            self.__dict__[r].pop(name, None)
        self.__dict__.pop(name, None)
        self.__dict__[registry][name] = value

    def register_parameter(self, name, param):
        self._register("_parameters", name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A Tensor that belongs to the module's state (saved, moved by to()) but is not learned."""
        self._register("_buffers", name, tensor)
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name, module):
        self._register("_modules", name, module)

    # -- walking the tree
    def named_modules(self, prefix="", memo=None):
        """(name, module) for this module and every descendant, depth first; each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, registry, recurse=True, persistent_only=False):
        seen = set()
        for prefix, module in self.named_modules() if recurse else [("", self)]:
            for name, t in getattr(module, registry).items():
                if t is None or id(t) in seen or (persistent_only and name in module._non_persistent):
                    continue
                seen.add(id(t))
                yield (f"{prefix}.{name}" if prefix else name), t

    def named_parameters(self, recurse=True):
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse))

    def named_buffers(self, recurse=True):
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse))

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one (as torch, e.g. for custom init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes, gradients, devices
    def train(self, mode=True):
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        """Forget every parameter's gradient (set it to None, as torch's default)."""
        for p in self.parameters():
            p.grad = None

    def to(self, device=None, dtype=None):
        """Move every parameter and buffer (and gradient) to ``device`` and floating ones to ``dtype``,
        in place; returns the module."""
        for t in list(self.parameters()) + list(self.buffers()):
            for holder in (t, t.grad):
                if holder is not None:
                    holder.data = _converted(holder.data, device, dtype)
        return self

    # -- state
    def state_dict(self):
        """name -> Tensor (sharing memory with the module) for every parameter and persistent buffer,
        in torch's order and with torch's names: "0.weight", "1.running_mean", ..."""
        return OrderedDict((key, Tensor(t.data)) for key, t in self._state_tensors().items())

    def load_state_dict(self, state_dict, strict=True):
        """Copy ``state_dict``'s values (Tensors or arrays) into this module's parameters and buffers, in place.
        A shape mismatch raises; with strict, so does a missing or unexpected key."""
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
        for key, target in own.items():
            if key in state_dict:
                _copy_into(key, target, state_dict[key])
        return IncompatibleKeys(missing, unexpected)

    def _state_tensors(self):
        """The live parameters and buffers behind state_dict's keys."""
        live = OrderedDict()
        for prefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, t in registry.items():
                    if t is not None and name not in module._non_persistent:
                        live[f"{prefix}.{name}" if prefix else name] = t
        return live

    # -- printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [self.extra_repr()] if self.extra_repr() else []
        lines += [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        if not self._modules:
            return f"{type(self).__name__}({''.join(lines)})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


_REGISTRIES = {"_parameters": Parameter, "_buffers": Tensor, "_modules": Module}


def _converted(array, device, dtype):
    if device is not None:
        array = backend.to_device(array, device)
    if dtype is not None and backend.is_float(array.dtype):
        array = array.astype(dtype, copy=False)
    return array


def _copy_into(key, target, value):
    value = value.data if isinstance(value, Tensor) else value
    if tuple(value.shape) != target.shape:
        raise RuntimeError(f"load_state_dict: size mismatch for {key!r}: the checkpoint has shape "
                           f"{tuple(value.shape)}, the module has {target.shape}")
    target.data[...] = backend.to_device(backend.array_module(value).asarray(value), target.device)
