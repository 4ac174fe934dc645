"""The fused Adam step on CuPy arrays (kernels/adam.cu), replacing adam_step of minigan/optim.py."""
import numpy as np

from .loader import BLOCK, grid_for, has_kernels, launch, reference


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam update of one parameter in place, in a single kernel launch: each element's param,
    grad and moments are read once and written once. Replaces minigan.optim.adam_step (NumPy)."""
    state = (param, exp_avg, exp_avg_sq)
    if not (has_kernels(*state) and all(a.flags.c_contiguous and a.shape == param.shape for a in state)):
        return reference("optim", "adam_step")(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                                               weight_decay)
    import cupy
    grad = cupy.ascontiguousarray(cupy.broadcast_to(grad, param.shape), dtype=param.dtype)
    t = param.dtype.type
    hyper = (lr / (1 - beta1 ** step), 1 - beta1, beta2, 1 - beta2, eps, weight_decay, (1 - beta2 ** step) ** 0.5)
    launch("adam", "adam_step", param.dtype, (grid_for(param.size),), (BLOCK,),
           (param, grad, exp_avg, exp_avg_sq, np.int64(param.size), *map(t, hyper)))
