"""Fused Adam steps on CuPy arrays (kernels/adam.cu), replacing adam_step and adam_step_group of
minigan/optim.py: one launch updates one parameter, or every parameter of a group."""
import math

import numpy as np

from .loader import BLOCK, grid_for, has_kernels, launch, reference

CHUNK_PER_THREAD = 4  # adam_step_group: elements a thread updates; a block takes BLOCK times as many


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam update of one parameter in place, in a single kernel launch: each element's param,
    grad and moments are read once and written once. Replaces minigan.optim.adam_step (NumPy)."""
    if not _has_kernels([param], [exp_avg], [exp_avg_sq]):
        return reference("optim", "adam_step")(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                                               weight_decay)
    launch("adam", "adam_step", param.dtype, (grid_for(param.size),), (BLOCK,),
           (param, _dense_grad(grad, param), exp_avg, exp_avg_sq, np.int64(param.size),
            *_hyper(param.dtype, step, lr, beta1, beta2, eps, weight_decay)))


def adam_step_group(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps, weight_decay):
    """``adam_step`` of every parameter of a list, all at one step, in one kernel launch: a table of the
    arrays' addresses and sizes goes to the device (asynchronously) and each block updates a chunk of one
    parameter. Replaces minigan.optim.adam_step_group (NumPy)."""
    if not _has_kernels(params, exp_avgs, exp_avg_sqs):
        return reference("optim", "adam_step_group")(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2,
                                                     eps, weight_decay)
    import cupy
    grads = [_dense_grad(g, p) for g, p in zip(grads, params)]  # kept alive until the launch is queued
    sizes = [p.size for p in params]
    blocks = [math.ceil(n / (BLOCK * CHUNK_PER_THREAD)) for n in sizes]
    table = np.array([[a.data.ptr for a in arrays] for arrays in (params, grads, exp_avgs, exp_avg_sqs)]
                     + [sizes, np.cumsum([0] + blocks[:-1])], dtype=np.int64)  # (6, K)
    launch("adam", "adam_step_group", params[0].dtype, (max(1, sum(blocks)),), (BLOCK,),
           (cupy.asarray(table), np.int32(len(params)), np.int32(CHUNK_PER_THREAD),
            *_hyper(params[0].dtype, step, lr, beta1, beta2, eps, weight_decay)))


def _has_kernels(params, exp_avgs, exp_avg_sqs):
    """The state arrays share a dtype with a kernel, and each is contiguous, of its parameter's shape."""
    triples = list(zip(params, exp_avgs, exp_avg_sqs))
    return len(params) > 0 and has_kernels(*params, *exp_avgs, *exp_avg_sqs) and all(
        a.flags.c_contiguous and a.shape == triple[0].shape for triple in triples for a in triple)


def _dense_grad(grad, param):
    """grad as a contiguous array of param's shape and dtype (a copy only if it is not one)."""
    import cupy
    return cupy.ascontiguousarray(cupy.broadcast_to(grad, param.shape), dtype=param.dtype)


def _hyper(dtype, step, lr, beta1, beta2, eps, weight_decay):
    """The kernels' scalars: step_size, 1 - beta1, beta2, 1 - beta2, eps, weight_decay, sqrt(1 - beta2^t)."""
    hyper = (lr / (1 - beta1 ** step), 1 - beta1, beta2, 1 - beta2, eps, weight_decay, (1 - beta2 ** step) ** 0.5)
    return tuple(map(np.dtype(dtype).type, hyper))
