"""The one place that knows about NumPy and CuPy.

Every op asks ``array_module(x)`` for ``xp`` and writes ``xp.exp(x)``; nothing
else in minigan tests for CUDA. CuPy is imported only when a CUDA array or
``device="cuda"`` is asked for, so ``import minigan`` works without it.

Every fast path (a CUDA kernel, a memory layout, Winograd) replaces a plain reference, and
``reference_mode`` turns them all off: MINIGAN_REFERENCE=1 in the environment, or
``with minigan.reference_mode():``. On the CPU, ``keep_freed_memory`` does for NumPy's arrays what
CuPy's memory pool does on the GPU; the trainer, the CLI and the benchmarks call it, not ``import minigan``.
"""
import contextlib
import ctypes
import functools
import os
import platform

import numpy as np

DEVICES = ("cpu", "cuda")
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
default_dtype = np.dtype(np.float32)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


class _Reference:
    enabled = os.environ.get("MINIGAN_REFERENCE", "0") not in ("", "0")


def reference_enabled():
    """Whether every op takes its reference path (no CUDA kernel, no fast layout, no Winograd)."""
    return _Reference.enabled


@contextlib.contextmanager
def reference_mode(enabled=True):
    """Inside this block every op runs its plain reference, on the CPU and on the GPU (CuPy expressions
    instead of the CUDA kernels), as MINIGAN_REFERENCE=1 does for a whole process."""
    previous, _Reference.enabled = _Reference.enabled, bool(enabled)
    try:
        yield
    finally:
        _Reference.enabled = previous


def keep_freed_memory():
    """Let glibc's malloc keep the memory that NumPy frees, for the next arrays (as CuPy's pool
    keeps GPU memory). By default glibc hands large freed blocks back to the kernel, and the next
    array of that size faults in all its pages again: thousands of page faults a DCGAN step.
    Arrays below 256 MiB now come from the heap, and up to 1 GiB freed at its top stays there.

    A process-wide setting, so minigan's programs (the trainer, the CLI, the benchmarks) call it and
    ``import minigan`` does not; MINIGAN_KEEP_FREED_MEMORY=0 leaves malloc as it was. Changes
    nothing where the C library is not glibc. Returns whether it took effect."""
    if os.environ.get("MINIGAN_KEEP_FREED_MEMORY") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    return bool(mallopt(M_MMAP_THRESHOLD, 256 << 20) and mallopt(M_TRIM_THRESHOLD, 1 << 30))


def cupy():
    """Import CuPy lazily, with an error that says how to get it."""
    try:
        import cupy as cp
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device visible")
    except Exception as e:  # ImportError, or CuPy present but no driver/GPU
        raise RuntimeError(
            f'device="cuda" needs CuPy and a CUDA GPU ({e}). '
            'Install the extra with: pip install "minigan[cuda]" (in a checkout: pip install -e ".[cuda]")') from e
    return cp


def cuda_available():
    try:
        cupy()
        return True
    except RuntimeError:
        return False


def check_device(device):
    device = str(device)
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    return device


def module_for(device):
    """numpy for "cpu", cupy for "cuda"."""
    return cupy() if check_device(device) == "cuda" else np


def is_cupy_array(x):
    return type(x).__module__.split(".")[0] == "cupy"


def array_module(x):
    """The array module of ``x``: cupy for a CuPy array, numpy for anything else; for a Tensor (a
    backward building a graph, create_graph=True), minigan's differentiable ops under NumPy's names."""
    if isinstance(x, np.ndarray):
        return np
    if is_cupy_array(x):
        import cupy
        return cupy
    if hasattr(x, "grad_fn"):  # a Tensor
        from .ops import numpy_names
        return numpy_names
    return np


def device_of(x):
    return "cpu" if array_module(x) is np else "cuda"


def to_device(x, device):
    """Move an array to ``device`` (a no-op when it is already there)."""
    if device_of(x) == check_device(device):
        return x
    if device == "cuda":
        return module_for("cuda").asarray(x)
    return x.get()


def free_memory(device):
    """Bytes that new arrays on ``device`` can take: for "cuda", the GPU's free memory and what CuPy's pool
    holds unused; for "cpu", the memory the system has available."""
    if check_device(device) == "cuda":
        cp = cupy()
        return cp.cuda.runtime.memGetInfo()[0] + cp.get_default_memory_pool().free_bytes()
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def to_numpy(x):
    return to_device(x, "cpu")


def is_float(dtype):
    return np.dtype(dtype) in FLOAT_DTYPES


def kernel(reference):
    """Let a hand-written CUDA kernel replace ``reference`` on CuPy arrays.

    ``reference`` is written with ``xp = array_module(x)`` and runs on either backend; when
    its first argument is a CuPy array (or a list of arrays whose first is one) and ``minigan.cuda``
    has a function of the same name, that runs instead, unless ``reference_mode`` is on.
    ``f.reference`` stays the expression that the kernel is tested against.
    """
    @functools.wraps(reference)
    def run(x, *args, **kwargs):
        if _Reference.enabled or not is_cupy_array(x[0] if isinstance(x, list) and x else x):
            return reference(x, *args, **kwargs)
        from . import cuda
        return getattr(cuda, reference.__name__, reference)(x, *args, **kwargs)
    run.reference = reference
    return run
