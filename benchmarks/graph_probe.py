"""What CUDA-graph capture of a minigan step can use, tried on the GPU (for the GPU issue's design).

    python benchmarks/graph_probe.py

Each probe prints one line, ok or the error it met:
1. minigan's own kernels (a RawModule launch) and CuPy elementwise kernels, captured on a non-default
   stream with allocations from a private memory pool, and replayed: the same numbers as eagerly.
2. cupy.matmul while capturing: CuPy refuses cuBLAS during capture (cublas.setStream checks).
3. cublasSgemm_v2 called through ctypes on a handle whose stream was set before the capture began:
   captured, and does the replay give cupy.matmul's product?
4. The host's cost: 200 small launches eagerly against one replay of their graph.
"""
import ctypes
import ctypes.util
import time

import cupy
import numpy as np

import minigan.cuda
from minigan.cuda import loader


def capture(stream, pool, work):
    """The graph of work() captured on ``stream``, its arrays from ``pool`` (kept for the replays)."""
    with stream, cupy.cuda.using_allocator(pool.malloc):
        stream.begin_capture()
        try:
            out = work()
        finally:
            graph = stream.end_capture()
    return graph, out


def probe_kernels(stream, pool):
    x = cupy.random.standard_normal((64, 128), dtype=np.float32)

    def work():
        return minigan.cuda.leaky_relu_forward(x * 2 + 1, 0.2)
    expected = work()
    graph, out = capture(stream, pool, work)
    graph.launch(stream)
    stream.synchronize()
    return f"max difference {float(abs(out - expected).max())}"


def probe_matmul(stream, pool):
    a = cupy.ones((8, 8), np.float32)
    try:
        capture(stream, pool, lambda: a @ a)
    except Exception as e:  # what CuPy says
        return f"refused: {type(e).__name__}: {e}"
    return "captured (CuPy no longer refuses cuBLAS)"


def cublas_library():
    for name in ("cublas", "cublas.so.13", "cublas.so.12"):
        path = ctypes.util.find_library(name) or f"lib{name}"
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    raise OSError("libcublas not found")


def probe_ctypes_sgemm(stream, pool):
    from cupy_backends.cuda.libs import cublas
    lib = cublas_library()
    handle = cupy.cuda.device.get_cublas_handle()
    cublas.setStream(handle, stream.ptr)  # before the capture: setStream itself refuses during one
    m, k, n = 96, 64, 80
    a = cupy.random.standard_normal((m, k), dtype=np.float32)
    b = cupy.random.standard_normal((k, n), dtype=np.float32)
    alpha, beta = ctypes.c_float(1.0), ctypes.c_float(0.0)

    def work():
        c = cupy.empty((m, n), np.float32)
        # row-major C = A B is column-major C^T = B^T A^T: sgemm(N, N, n, m, k, B, n, A, k, C, n)
        status = lib.cublasSgemm_v2(ctypes.c_void_p(handle), 0, 0, n, m, k, ctypes.byref(alpha),
                                    ctypes.c_void_p(b.data.ptr), n, ctypes.c_void_p(a.data.ptr), k,
                                    ctypes.byref(beta), ctypes.c_void_p(c.data.ptr), n)
        if status:
            raise RuntimeError(f"cublasSgemm_v2 returned status {status}")
        return c
    graph, c = capture(stream, pool, work)
    graph.launch(stream)
    stream.synchronize()
    return f"max difference from cupy.matmul {float(abs(c - a @ b).max()):.3g}"


def probe_launch_cost(stream, pool, launches=200):
    x = cupy.zeros(1024, np.float32)

    def work():
        for _ in range(launches):
            loader.map_elements("activations", "relu_forward", (x,))
    work()
    stream.synchronize()
    start = time.perf_counter()
    with stream:
        work()
    host_eager = time.perf_counter() - start
    stream.synchronize()
    graph, _ = capture(stream, pool, work)
    graph.launch(stream)
    stream.synchronize()
    start = time.perf_counter()
    graph.launch(stream)
    host_replay = time.perf_counter() - start
    stream.synchronize()
    return (f"{launches} launches: host {host_eager * 1e3:.2f} ms eagerly "
            f"({host_eager / launches * 1e6:.1f} us each), {host_replay * 1e3:.3f} ms to launch their graph")


def main():
    stream, pool = cupy.cuda.Stream(non_blocking=True), cupy.cuda.MemoryPool()
    for name, probe in [("minigan kernels and CuPy elementwise, captured", probe_kernels),
                        ("cupy.matmul during capture", probe_matmul),
                        ("cublasSgemm_v2 through ctypes, captured", probe_ctypes_sgemm),
                        ("launch cost", probe_launch_cost)]:
        try:
            print(f"{name}: {probe(stream, pool)}", flush=True)
        except Exception as e:  # each probe reports, the next still runs
            print(f"{name}: FAILED {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    main()
