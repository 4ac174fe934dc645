#!/usr/bin/env bash
# One call on a GPU machine, its parts' time limits adding up to 9 minutes: the GPU tests, the kernel and DCGAN step
# benchmark against torch (benchmarks/gpu.py), every shipped recipe through the trainer on the GPU and on 2 CPU cores
# (benchmarks/recipes.py), then what CUDA-graph capture can use (benchmarks/graph_probe.py). Each part runs under
# its own time limit with its log in $OUT (where the device tool returns files from; /tmp/minigan_gpu elsewhere),
# so that a crash or a hang loses no other part; the tables are
# printed again at the end, into $OUT/summary.md too.
#   bash benchmarks/gpu_session.sh
# Fashion-MNIST for the recipes: .gpudata/fashion-mnist, made on a machine that has it with
# `python benchmarks/recipes.py --make-data .gpudata` (9 MB) and carried along; else minigan's usual places;
# else random pixels of its shape, which the recipe table names.
# Left out: the wheel test, which fetches hatchling from PyPI (the GPU machine has no internet; it runs on
# every other machine, CI included).
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-/tmp/minigan_gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

# part LOG SECONDS COMMAND...: COMMAND under a time limit, its output shown and appended to $OUT/LOG
part() {
  local log=$OUT/$1 limit=$2
  shift 2
  echo "== $* (time limit ${limit} s)" | tee -a "$log"
  timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" != 0 ]; then
    echo "== exit $rc$([ "$rc" = 124 ] && echo ': stopped at the time limit')" | tee -a "$log"
  fi
}

part env.log 15 nvidia-smi
part env.log 15 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
part env.log 30 python3 -c "
import os, platform, numpy, cupy, torch
print('python', platform.python_version(), 'numpy', numpy.__version__, 'cupy', cupy.__version__,
      'torch', torch.__version__, 'cuDNN', torch.backends.cudnn.version(), 'CPUs', os.cpu_count())
try:
    import xdist
    print('pytest-xdist', xdist.__version__)
except ImportError:
    print('no pytest-xdist: the tests run in one process')"

# with pytest-xdist, four test processes share the GPU
XDIST=$(python3 -c "import xdist" 2>/dev/null && echo "-n 4")
# shellcheck disable=SC2086  # $XDIST is empty or two words
part gpu_tests.log 110 python3 -m pytest tests -m gpu -q -rs -p no:cacheprovider --durations=10 \
  --continue-on-collection-errors $XDIST
part gpu_tests.log 40 python3 -m pytest tests/test_kernels.py -q -rs -p no:cacheprovider \
  --deselect tests/test_kernels.py::test_wheel_ships_the_kernels
part gpu_bench.log 110 python3 benchmarks/gpu.py
part recipes.log 160 python3 benchmarks/recipes.py --data-dir .gpudata/fashion-mnist --budget-s 145
part probe.log 60 python3 benchmarks/graph_probe.py

{
  echo "# minigan GPU session, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  grep -E "^(python |NVIDIA|no pytest-xdist|pytest-xdist)" "$OUT/env.log"
  echo
  echo "## Tests"
  grep -E "^(FAILED|ERROR)|[0-9] (passed|failed|skipped|errors?)\b|no tests ran|^== exit" "$OUT/gpu_tests.log" | tail -n 20
  echo
  echo "## benchmarks/gpu.py"
  sed -n '/; CuPy .*, torch /,$p' "$OUT/gpu_bench.log"
  grep -E "^== exit|^minigan: the host|GPU kernels a step" "$OUT/gpu_bench.log"
  echo
  echo "## benchmarks/recipes.py"
  grep -E "^Fashion-MNIST recipes|, (cuda|cpu): |^== exit" "$OUT/recipes.log"
  sed -n '/^Every shipped recipe/,$p' "$OUT/recipes.log"
  echo
  echo "## benchmarks/graph_probe.py"
  grep -vE "^== python3" "$OUT/probe.log"
} > "$OUT/summary.md" 2>&1
cat "$OUT/summary.md"
