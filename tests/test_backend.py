import os
import platform
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import minigan as mg
from minigan import backend

INSTALL_HINT = 'pip install "minigan[cuda]" (in a checkout: pip install -e ".[cuda]")'  # installed, or editable


@pytest.fixture
def no_cupy(monkeypatch):
    """Make ``import cupy`` fail, as on a machine without it, whether or not this one has it."""
    monkeypatch.setitem(sys.modules, "cupy", None)


def test_minigan_imports_and_runs_without_cupy():
    script = ("import sys; sys.modules['cupy'] = None\n"
              "import minigan\n"
              "x = minigan.tensor([1.0, 2.0], requires_grad=True)\n"
              "(x * x).sum().backward()\n"
              "assert x.grad.numpy().tolist() == [2.0, 4.0]\n")
    subprocess.run([sys.executable, "-c", script], check=True)


FAULTS_PER_CHURN = """
import resource, sys, numpy
import minigan
if sys.argv[1] == "keep":
    minigan.backend.keep_freed_memory()
def churn():  # two 16 MiB activations alive at once, then both freed, as a layer's forward and backward do
    a, b = numpy.ones(4 << 20, numpy.float32), numpy.ones(4 << 20, numpy.float32)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn(); churn()
start = faults()
for _ in range(10):
    churn()
print((faults() - start) / 10)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="keep_freed_memory sets glibc's malloc")
def test_keep_freed_memory_lets_new_arrays_reuse_pages_and_import_alone_changes_nothing():
    def faults_per_churn(call, env_value="1"):
        env = dict(os.environ, MINIGAN_KEEP_FREED_MEMORY=env_value)
        run = subprocess.run([sys.executable, "-c", FAULTS_PER_CHURN, call], env=env, check=True,
                             capture_output=True, text=True)
        return float(run.stdout)
    assert faults_per_churn("import only") > 100  # 32 MiB handed back and faulted in again each time
    assert faults_per_churn("keep", env_value="0") > 100
    assert faults_per_churn("keep") < 10


@pytest.mark.parametrize("make", [
    lambda: backend.module_for("cuda"),
    lambda: mg.zeros(2, device="cuda"),
    lambda: mg.tensor([1.0], device="cuda"),
    lambda: mg.tensor([1.0], requires_grad=True).to("cuda"),
    lambda: mg.randn(3, device="cuda"),
])
def test_asking_for_cuda_without_cupy_says_how_to_install_it(no_cupy, make):
    with pytest.raises(RuntimeError, match='device="cuda" needs CuPy.*' + re.escape(INSTALL_HINT)):
        make()
    assert not backend.cuda_available()


def test_an_unknown_device_is_refused():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'"):
        mg.zeros(2, device="tpu")


def test_numpy_arrays_and_scalars_are_on_the_cpu():
    for x in (np.ones(2), np.float32(1.0), 3.0):
        assert backend.array_module(x) is np and backend.device_of(x) == "cpu"
    x = np.ones(2)
    assert backend.to_device(x, "cpu") is x and backend.to_numpy(x) is x


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")])])
def test_free_memory_is_a_positive_byte_count(device):
    free = backend.free_memory(device)
    assert isinstance(free, int) and 0 < free < 2 ** 50


def test_only_float_dtypes_are_float():
    assert all(backend.is_float(d) for d in (np.float16, np.float32, np.float64))
    assert not any(backend.is_float(d) for d in (np.int64, np.bool_, np.complex128))


class FakeCupyArray:
    """Stands in for a CuPy array: an object whose type lives in a module named cupy.*."""
    __module__ = "cupy.fake"


@pytest.mark.usefixtures("fast_paths")
def test_kernel_runs_the_reference_on_numpy_and_the_cuda_function_when_there_is_one(monkeypatch):
    @backend.kernel
    def double(x):
        return x * 2

    @backend.kernel
    def triple(x):
        return ("reference", x)

    fake_cuda = types.SimpleNamespace(double=lambda x: ("cuda", x))
    monkeypatch.setattr(mg, "cuda", fake_cuda, raising=False)
    np.testing.assert_array_equal(double(np.ones(2)), [2.0, 2.0])
    gpu = FakeCupyArray()
    assert double(gpu) == ("cuda", gpu)
    assert triple(gpu) == ("reference", gpu)  # no kernel of that name: the reference runs
    assert double.reference(3) == 6 and double.__name__ == "double"


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_arrays_round_trip_through_the_gpu():
    x = np.arange(4.0)
    on_gpu = backend.to_device(x, "cuda")
    assert backend.device_of(on_gpu) == "cuda" and backend.array_module(on_gpu) is backend.module_for("cuda")
    np.testing.assert_array_equal(backend.to_numpy(on_gpu), x)
