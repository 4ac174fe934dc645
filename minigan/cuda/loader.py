"""Find kernels/*.cu, compile each with NVRTC (through CuPy) at first use, and launch its kernels.

A .cu's kernels come in two builds, ``<name>_f32`` and ``<name>_f64``; ``launch`` picks the one of
the arrays' dtype. CuPy caches compiled binaries on disk (~/.cupy/kernel_cache), so only the first
use on a machine pays NVRTC's compile time.
"""
import functools
import importlib
import math
import pathlib
import re

import numpy as np

BLOCK = 256  # threads a block, for every kernel
SUFFIXES = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_INCLUDE = re.compile(r'^#include "([\w.]+)"$', re.MULTILINE)


def kernel_dir():
    """The folder of the .cu files: minigan/kernels in an installed wheel, kernels/ in a source checkout."""
    package = pathlib.Path(__file__).resolve().parent.parent
    candidates = (package / "kernels", package.parent / "kernels")
    for folder in candidates:
        if (folder / "common.cuh").is_file():
            return folder
    raise FileNotFoundError(f"minigan's CUDA sources are in neither {candidates[0]} nor {candidates[1]}")


def source(name, folder=None):
    """The text of ``<name>.cu``, each ``#include "file"`` replaced by that file of the same folder, so
    that CuPy's binary cache, keyed by the source text, sees every line that is compiled."""
    folder = pathlib.Path(folder or kernel_dir())
    return _INCLUDE.sub(lambda m: (folder / m.group(1)).read_text(), (folder / f"{name}.cu").read_text())


@functools.lru_cache(maxsize=None)
def load_module(name, folder=None):
    """``<name>.cu`` compiled into a cupy.RawModule; an error naming the file, with NVRTC's log, if it fails."""
    import cupy
    path = pathlib.Path(folder or kernel_dir()) / f"{name}.cu"
    try:
        module = cupy.RawModule(code=source(name, path.parent), options=("-std=c++14",))
        module.compile()
    except cupy.cuda.compiler.CompileException as e:
        raise RuntimeError(f"minigan.cuda: {path} failed to compile:\n{e}") from e
    return module


@functools.lru_cache(maxsize=None)
def _function(module, kernel, dtype):
    return load_module(module).get_function(f"{kernel}_{SUFFIXES[dtype]}")


def launch(module, kernel, dtype, grid, block, args):
    """Run ``kernel``'s build for ``dtype`` from ``<module>.cu``. Scalars must already be NumPy scalars of
    the parameters' C types (np.int32 for int, np.int64 for long long, dtype.type for T): CuPy passes a
    Python int as 64 bits whatever the kernel expects."""
    _function(module, kernel, np.dtype(dtype))(tuple(grid), tuple(block), tuple(args))


@functools.lru_cache(maxsize=None)
def multiprocessors():
    import cupy
    return cupy.cuda.Device().attributes["MultiProcessorCount"]


def grid_for(count, per_block=BLOCK):
    """Blocks for ``count`` items at ``per_block`` a block, at most 32 per multiprocessor: the kernels'
    grid-stride loops cover the rest."""
    return max(1, min(math.ceil(count / per_block), 32 * multiprocessors()))


def has_kernels(*arrays):
    """True when the arrays share a dtype that the kernels are built for (float32, float64)."""
    return arrays[0].dtype in SUFFIXES and all(a.dtype == arrays[0].dtype for a in arrays)


def reference(module, name):
    """The NumPy reference ``name`` of ``minigan.<module>``: what a wrapper runs for dtypes without a
    kernel (float16); it works on CuPy arrays too, only slower."""
    return getattr(importlib.import_module(f"minigan.{module}"), name).reference


def element_strides(a):
    """The strides of ``a`` in elements, as np.int64 kernel arguments."""
    return tuple(np.int64(s // a.itemsize) for s in a.strides)


def memory_order(a):
    """The axes of ``a`` longer than 1, from the largest stride to the smallest, when its elements fill one
    block of memory from its first element on without gaps or overlaps (a transpose of a contiguous array,
    such as the views conv2d returns); None when they do not."""
    axes = sorted((k for k, n in enumerate(a.shape) if n > 1), key=lambda k: -a.strides[k])
    packed = a.itemsize
    for k in reversed(axes):
        if a.strides[k] != packed:
            return None
        packed *= a.shape[k]
    return tuple(axes)


def empty_in_order(shape, dtype, axes):
    """An empty CuPy array of ``shape`` whose axes ``axes`` (all those longer than 1) run in memory from the
    largest stride to the smallest: the layout that ``memory_order`` reads."""
    import cupy
    if list(axes) == sorted(axes):
        return cupy.empty(shape, dtype)  # C order
    dtype = np.dtype(dtype)
    strides, packed = [dtype.itemsize] * len(shape), dtype.itemsize
    for k in reversed(axes):
        strides[k], packed = packed, packed * shape[k]
    memory = cupy.empty(math.prod(shape), dtype)
    return cupy.ndarray(tuple(shape), dtype, memptr=memory.data, strides=tuple(strides))


def in_one_layout(arrays, innermost=None):
    """(arrays, out) for kernels that address arrays of one shape by one memory offset: the arrays laid out
    alike, and an empty output in their layout. That is the first array's when it is dense (``memory_order``)
    and, if ``innermost`` names an axis, that axis has its smallest stride; else C order with ``innermost``
    moved last. Only arrays laid out otherwise are copied."""
    shape, dtype = arrays[0].shape, arrays[0].dtype
    long_axes = tuple(k for k, n in enumerate(shape) if n > 1)
    axes = memory_order(arrays[0])
    if axes is None or (innermost in long_axes and axes[-1] != innermost):
        axes = tuple(k for k in long_axes if k != innermost) + ((innermost,) if innermost in long_axes else ())
    out = empty_in_order(shape, dtype, axes)
    return [a if _strides_of(a, long_axes) == _strides_of(out, long_axes) else _copy(a, out, axes)
            for a in arrays], out


def _strides_of(a, axes):
    return tuple(a.strides[k] for k in axes)


def _copy(a, like, axes):
    """``a`` copied into the layout of ``like``."""
    copy = empty_in_order(a.shape, like.dtype, axes)
    copy[...] = a
    return copy


def map_elements(module, kernel, arrays, params=(), numpy_module=None):
    """``out[i] = kernel(arrays[0][i], arrays[1][i], ..., *params)`` for the elementwise kernels, whose
    parameters are (inputs..., out, n, params...), run over the arrays' memory in one flat loop. Arrays are
    broadcast to one shape and laid out alike (``in_one_layout``): the output keeps the first input's layout,
    so a transposed view stays one, uncopied. A dtype without a kernel runs the NumPy reference of
    ``minigan.<numpy_module>`` instead."""
    import cupy
    if len({a.shape for a in arrays}) > 1:
        arrays = cupy.broadcast_arrays(*arrays)
    if not has_kernels(*arrays):
        return reference(numpy_module, kernel)(*arrays, *params)
    arrays, out = in_one_layout(arrays)
    launch(module, kernel, out.dtype, (grid_for(out.size),), (BLOCK,),
           (*arrays, out, np.int64(out.size), *map(out.dtype.type, params)))
    return out
