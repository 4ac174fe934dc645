"""The CUDA side without a GPU: every kernels/*.cu compiles with nvcc (sm_80, sm_90), each
minigan.cuda wrapper has its NumPy reference's name and signature, the wheel ships the sources,
and the loader finds them in a source checkout and in an installed package."""
import importlib
import inspect
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

import minigan.cuda
from minigan.cuda import loader

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "kernels").glob("*.cu"))
NVCC = shutil.which("nvcc")
# the modules whose @kernel functions minigan.cuda replaces
REFERENCE_MODULES = ["minigan.ops.activation", "minigan.nn.fast.columns", "minigan.nn.normalization",
                     "minigan.nn.losses", "minigan.optim"]


def test_every_family_has_its_source():
    assert {p.stem for p in SOURCES} == {"im2col", "batchnorm", "activations", "bce", "adam"}


@pytest.mark.skipif(NVCC is None, reason="nvcc is not on the PATH")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("cu", SOURCES, ids=lambda p: p.name)
def test_compiles_with_nvcc(cu, arch, tmp_path):
    """The text NVRTC would compile (includes pasted in by the loader) builds, with every exported
    kernel's float and double version."""
    src = tmp_path / cu.name
    src.write_text(loader.source(cu.stem))
    ptx = tmp_path / f"{cu.stem}.ptx"
    result = subprocess.run([NVCC, "--ptx", f"-arch={arch}", "-std=c++14", str(src), "-o", str(ptx)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    entries = set(re.findall(r"\.entry (\w+)\(", ptx.read_text()))
    names = re.findall(r"EXPORT_FLOAT_KERNELS\((\w+),", cu.read_text())
    assert names and entries == {f"{n}_{s}" for n in names for s in ("f32", "f64")}


def test_source_pastes_the_includes():
    text = loader.source("activations")
    assert not re.search(r"^#include", text, re.MULTILINE) and "#define GRID_STRIDE_LOOP" in text


def _references():
    """name -> NumPy reference of every @kernel function of the reference modules."""
    found = {}
    for module in map(importlib.import_module, REFERENCE_MODULES):
        found.update({name: f for name, f in vars(module).items() if hasattr(f, "reference")})
    return found


def test_every_reference_has_a_wrapper_of_its_signature():
    references = _references()
    assert len(references) == 16
    for name, f in references.items():
        wrapper = getattr(minigan.cuda, name)
        assert inspect.signature(wrapper) == inspect.signature(f.reference), name
        assert f"{f.__module__}.{name}" in " ".join(wrapper.__doc__.split()), name


def test_importing_minigan_cuda_needs_no_cupy():
    code = "import sys, minigan, minigan.cuda; assert 'cupy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_loader_finds_the_checkout_kernels():
    assert loader.kernel_dir() == ROOT / "kernels"


def test_loader_finds_the_installed_kernels(tmp_path):
    """Installed from the wheel, the sources are minigan/kernels (pyproject's force-include)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "minigan", site / "minigan", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kernels", site / "minigan" / "kernels")
    code = "import minigan.cuda.loader as l; print(l.kernel_dir()); print(len(l.source('im2col')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": ""}).stdout.split()
    assert out[0] == str(site / "minigan" / "kernels") and int(out[1]) > 0


@pytest.mark.slow
def test_wheel_ships_the_kernels(tmp_path):
    """pip builds the wheel in an isolated environment (fetching hatchling); it holds minigan/kernels/*."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                   check=True)
    (wheel,) = tmp_path.glob("minigan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"minigan/kernels/{p.name}" for p in (ROOT / "kernels").iterdir() if p.suffix in (".cu", ".cuh")}
    assert len(shipped) == 6 and shipped <= names
