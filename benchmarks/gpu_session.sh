#!/usr/bin/env bash
# One call on a GPU machine: the GPU tests, the kernel compile tests, then the GPU benchmark, with
# both logs under $OUT (where the device tool returns files from; /tmp/minigan_gpu elsewhere).
#   bash benchmarks/gpu_session.sh
# The wheel test is left out: it fetches hatchling from PyPI, which the GPU machine cannot reach
# (it runs on every other machine, CI included).
set -x
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/minigan_gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
python3 -c "import cupy, torch, numpy; print('cupy', cupy.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)"
# time limits keep both parts inside one 5-minute call; with pytest-xdist, four test processes share the GPU
XDIST=$(python3 -c "import xdist" 2>/dev/null && echo "-n 4")
timeout 140 python3 -m pytest tests/test_cuda.py tests/test_kernels.py -q -rs -p no:cacheprovider --durations=10 \
  $XDIST --deselect tests/test_kernels.py::test_wheel_ships_the_kernels 2>&1 | tee "$OUT/gpu_tests.log"
timeout 130 python3 benchmarks/gpu.py 2>&1 | tee "$OUT/gpu_bench.log"
