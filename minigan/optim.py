"""Optimizers: SGD and Adam with PyTorch's update rules, parameter groups and state dicts.

An optimizer holds ``param_groups`` (dicts: ``"params"`` and that group's hyperparameters)
and ``state`` (per parameter: momentum buffers, moment estimates, step counts, as arrays).
``step()`` reads each parameter's ``.grad`` and updates ``p.data`` in place, so the Modules
holding the parameter see the new values; no graph is recorded. Parameters whose ``.grad``
is None are skipped.

    opt = minigan.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.zero_grad(); loss.backward(); opt.step()
"""
from . import checks
from .backend import array_module, kernel, to_device
from .tensor import Tensor


class Optimizer:
    """The bookkeeping every optimizer shares; subclasses write ``_update(p, grad, group)``."""

    def __init__(self, params, defaults):
        if isinstance(params, (Tensor, set)):
            raise TypeError("params should be an ordered iterable of Tensors or of dicts, "
                            f"got {type(params).__name__}")
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{self.name}: got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    @property
    def name(self):
        return type(self).__name__

    def add_param_group(self, group):
        """Add ``{"params": [...], <hyperparameter>: value, ...}``; missing ones take the defaults."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor) or not p.is_leaf:
                raise TypeError(f"{self.name}: can only optimize leaf Tensors, got {p!r:.80}")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params} | taken) != len(params) + len(taken):
            raise ValueError(f"{self.name}: a parameter appears twice in the parameter groups")
        group = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(group)
        self.param_groups.append(group)

    def check_hyperparameters(self, group):
        """TypeError or ValueError naming the optimizer and the hyperparameter that ``group`` holds wrongly."""
        raise NotImplementedError

    def zero_grad(self, set_to_none=True):
        """Forget the gradients (``.grad = None``, as torch), or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates and returns the loss."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for i, p in enumerate(group["params"]):
                if p.grad is not None and p.grad.shape != p.shape:
                    raise ValueError(f"{self.name}.step: parameter {i} of shape {p.shape} "
                                     f"has a gradient of shape {p.grad.shape}")
            self._update_group([p for p in group["params"] if p.grad is not None], group)
        return loss

    def _update_group(self, params, group):
        """Update the parameters of one group that have gradients; by default one at a time."""
        for p in params:
            self._update(p, p.grad.data, group)

    def _update(self, p, grad, group):
        raise NotImplementedError

    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}`` as torch:
        parameters are numbered in group order; the state's arrays are the live ones, not copies."""
        index = {}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index.setdefault(id(p), len(index)) for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take the hyperparameters and (copied, onto each parameter's device and dtype) state."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self.name}.load_state_dict: {len(saved_groups)} parameter groups "
                             f"saved, this optimizer has {len(self.param_groups)}")
        params = {}
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{self.name}.load_state_dict: a saved group of {len(saved['params'])} "
                                 f"parameters for a group of {len(group['params'])}")
            params.update(zip(saved["params"], group["params"]))
        self.state = {params[i]: {k: _state_like(v, params[i], f"{k!r} of parameter {i}") for k, v in s.items()}
                      for i, s in state_dict["state"].items()}
        self.param_groups = [{**saved, "params": group["params"]}
                             for saved, group in zip(saved_groups, self.param_groups)]


def _state_like(value, p, what):
    """A copy of a saved state array on ``p``'s device, in ``p``'s dtype; other values as they are."""
    if not hasattr(value, "shape"):
        return value
    if tuple(value.shape) != p.shape:
        raise ValueError(f"load_state_dict: state {what} has shape {tuple(value.shape)}, "
                         f"the parameter {p.shape}")
    return array_module(p.data).array(to_device(value, p.device), dtype=p.dtype)


def _non_negative(optimizer, group, *names):
    for name in names:
        checks.number(optimizer, name, group[name], lambda v: v >= 0, ">= 0")


def _with_weight_decay(grad, param, weight_decay):
    # g <- g + lambda theta   (L2 penalty lambda/2 |theta|^2 folded into the gradient)
    return grad + weight_decay * param if weight_decay != 0 else grad


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (torch.optim.SGD's algorithm):

        g <- g + lambda theta                      (weight_decay)
        b <- g at the first step, else mu b + (1 - tau) g   (momentum mu, dampening tau)
        g <- g + mu b if nesterov else b
        theta <- theta - lr g                      (theta + lr g with maximize)
    """

    def __init__(self, params, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay, maximize=maximize))

    def check_hyperparameters(self, group):
        _non_negative("SGD", group, "lr", "momentum", "weight_decay")
        checks.number("SGD", "dampening", group["dampening"])
        nesterov, maximize = (checks.boolean("SGD", name, group[name]) for name in ("nesterov", "maximize"))
        if nesterov and not (group["momentum"] > 0 and group["dampening"] == 0):
            raise ValueError("SGD: nesterov momentum needs a momentum and zero dampening")

    def _update(self, p, grad, group):
        momentum = group["momentum"]
        grad = _with_weight_decay(-grad if group["maximize"] else grad, p.data, group["weight_decay"])
        if momentum != 0:
            state = self.state.setdefault(p, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) as torch.optim.Adam computes it; see ``adam_step``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def check_hyperparameters(self, group):
        _non_negative("Adam", group, "lr", "eps", "weight_decay")
        checks.boolean("Adam", "amsgrad", group["amsgrad"])
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"Adam: betas must be a pair of numbers, got {betas!r}")
        for b in betas:
            checks.number("Adam", "betas", b, lambda v: 0 <= v < 1, "in [0, 1)")
        group["betas"] = tuple(betas)

    def _update_group(self, params, group):
        """With amsgrad one ``amsgrad_step`` a parameter; else one ``adam_step_group`` for all the parameters
        at one step count (one kernel launch on the GPU)."""
        hyper = (group["lr"], *group["betas"], group["eps"], group["weight_decay"])
        by_step = {}
        for p in params:
            s = self._state(p, group)
            s["step"] += 1
            if group["amsgrad"]:
                amsgrad_step(p.data, p.grad.data, s["exp_avg"], s["exp_avg_sq"], s["max_exp_avg_sq"], s["step"], *hyper)
            else:
                by_step.setdefault(s["step"], []).append((p.data, p.grad.data, s["exp_avg"], s["exp_avg_sq"]))
        for step, arrays in by_step.items():
            adam_step_group(*map(list, zip(*arrays)), step, *hyper)

    def _state(self, p, group):
        """p's state, zero moments at first."""
        state = self.state.setdefault(p, {})
        if not state:
            zeros = array_module(p.data).zeros_like
            state.update(step=0, exp_avg=zeros(p.data), exp_avg_sq=zeros(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros(p.data)
        return state


@kernel
def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam update of one parameter, in place on ``param``, ``exp_avg`` and ``exp_avg_sq``
    (``grad`` is only read: it may be shared with other parameters). ``step`` counts from 1.

        g <- g + lambda theta
        m <- m + (1 - beta1)(g - m)             (torch's lerp)
        v <- beta2 v + (1 - beta2) g^2
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """
    grad = _with_weight_decay(grad, param, weight_decay)
    _adam_moments(grad, exp_avg, exp_avg_sq, beta1, beta2)
    _adam_move(param, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps)


@kernel
def adam_step_group(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps, weight_decay):
    """``adam_step`` of every parameter of a list, all at the same ``step`` (on CuPy arrays, one kernel
    launch updates them all)."""
    for param, grad, exp_avg, exp_avg_sq in zip(params, grads, exp_avgs, exp_avg_sqs):
        adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay)


def amsgrad_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """``adam_step`` that divides by the running maximum of v instead of v (AMSGrad)."""
    grad = _with_weight_decay(grad, param, weight_decay)
    _adam_moments(grad, exp_avg, exp_avg_sq, beta1, beta2)
    array_module(param).maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    _adam_move(param, exp_avg, max_exp_avg_sq, step, lr, beta1, beta2, eps)


def _adam_moments(grad, exp_avg, exp_avg_sq, beta1, beta2):
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad


def _adam_move(param, exp_avg, second_moment, step, lr, beta1, beta2, eps):
    step_size = lr / (1 - beta1 ** step)
    denom = array_module(param).sqrt(second_moment) / (1 - beta2 ** step) ** 0.5 + eps
    param -= step_size * (exp_avg / denom)
