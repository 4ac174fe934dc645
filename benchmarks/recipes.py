"""Steps per second of every shipped recipe through the real trainer, on the GPU and on 2 CPU cores.

    python benchmarks/recipes.py                      # every recipe on cuda, then on 2 CPU cores
    python benchmarks/recipes.py --devices cpu --window 2 --windows 1 --cpu-windows 1  # a dry run, any machine
    python benchmarks/recipes.py --make-data .gpudata  # a Fashion-MNIST slice to carry to a machine without one

A recipe is what ``minigan train MODEL --dataset D [flags]`` runs: ``TrainConfig.for_model`` and
``Trainer(...).fit()`` (quiet, into a temporary folder), with the recipe's settings but for its length.
Each (recipe, device) runs in a process of its own, under a time limit, so that a crash or a hang
costs one row. In it:

- "steps/s": the trainer's own measure (metrics.jsonl's steps_per_s) over windows of W steps, its
  log_every set to W (a window ends with the log step, as in ``minigan train``): the median of the
  windows after the first, which holds the warm-up (on the GPU: kernel loads, the memory pool's growth).
  W is the recipe's log_every on the GPU, a few steps on the CPU (``--window`` sets both).
- "train_step alone": then the same trainer's ``train_step`` (no logging, no checkpoint checks) in
  windows of W steps, the GPU synchronized at each window's ends: the median time a step. "train /
  alone" is the trainer's time a step over it: what the loop around the step costs.
- "copies a step": host-to-device and device-to-host copies through minigan.backend in those windows
  (random draws made on the CPU, batches, ``loss.item()``): each is a synchronous round trip.
- The CPU figure: a process pinned to the last ``--threads`` cores (sched_setaffinity) with OpenBLAS,
  OpenMP and MKL limited to as many threads, so that it means "2 CPU cores" on a many-core GPU machine too.

Fashion-MNIST comes from ``--data-dir`` or minigan's usual places; where there is none (a GPU machine
without internet) the recipes train on random pixels of the same shape, and the table says so.
"""
import argparse
import collections
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from minigan.data.idx import VALIDATION_SIZE, find_files, read_idx, search_dirs, write_idx  # noqa: E402

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
Recipe = collections.namedtuple("Recipe", "name model dataset settings cpu_window")
RECIPES = (  # cpu_window: steps a CPU window takes (a second or a few on 2 cores)
    Recipe("ring", "mlp-gan", "ring", {}, 200),
    Recipe("grid", "mlp-gan", "grid", {}, 100),
    Recipe("MLP GAN, Fashion-MNIST", "mlp-gan", "fashion-mnist", {}, 20),
    Recipe("DCGAN-32", "dcgan", "fashion-mnist", {"batch_size": 64}, 4),
    Recipe("DCGAN-64", "dcgan", "fashion-mnist", {"batch_size": 128, "arch": {"image_size": 64}}, 2),
)
LENGTH = 10 ** 6  # steps of every configured run: longer than any measurement, so fit() never reaches its end


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cuda", "cpu"], choices=["cuda", "cpu"])
    parser.add_argument("--recipes", nargs="+", default=[r.name for r in RECIPES], metavar="NAME",
                        help=f"a subset of {[r.name for r in RECIPES]}")
    parser.add_argument("--windows", type=int, default=4, help="timed windows on the GPU (after a warm-up one)")
    parser.add_argument("--cpu-windows", type=int, default=3, help="timed windows on the CPU")
    parser.add_argument("--window", type=int, default=0, help="steps a window, on every device (default: the "
                        "recipe's log_every on the GPU, its cpu_window on the CPU)")
    parser.add_argument("--threads", type=int, default=2, help="CPU cores (and BLAS threads) of the CPU figure")
    parser.add_argument("--data-dir", help="the folder of Fashion-MNIST's train-*-ubyte(.gz) files")
    parser.add_argument("--budget-s", type=float, default=220, help="seconds for all the runs together")
    parser.add_argument("--run-timeout-s", type=float, default=90, help="seconds one (recipe, device) may take")
    parser.add_argument("--make-data", metavar="DIR", help="write the first --images training images (and labels) "
                        "of Fashion-MNIST to DIR/fashion-mnist/ as gzipped IDX files, and exit")
    parser.add_argument("--images", type=int, default=20_000, help="with --make-data: the last 10,000 are the "
                        "validation split, the rest trains")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a recipe's name: run it and print one JSON line
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.recipes) - {r.name for r in RECIPES}
    if unknown:
        parser.error(f"unknown recipes {sorted(unknown)}; expected some of {[r.name for r in RECIPES]}")
    return args


def command(recipe):
    """The ``minigan train`` command line of ``recipe``."""
    flags = {**recipe.settings, **recipe.settings.get("arch", {})}
    flags.pop("arch", None)
    return " ".join([f"minigan train {recipe.model} --dataset {recipe.dataset}",
                     *(f"--{k.replace('_', '-')} {v}" for k, v in flags.items())])


# ---- the child: one recipe on one device ---------------------------------------------------------------------

class Copies:
    """Inside ``with Copies() as copies``: ``copies.to_device`` and ``copies.to_host``, the arrays minigan.backend
    moved to the GPU and back."""

    def __enter__(self):
        from minigan import backend
        self.backend, self.original, self.to_device, self.to_host = backend, backend.to_device, 0, 0

        def counting(x, device):
            if backend.device_of(x) != device:
                self.to_device += device == "cuda"
                self.to_host += device == "cpu"
            return self.original(x, device)
        backend.to_device = counting
        return self

    def __exit__(self, *exc):
        self.backend.to_device = self.original


def measure(recipe, device, window, windows, bare_windows, data_dir):
    """{"rates": steps/s of fit()'s ``windows`` windows after the warm-up one, "bare_s": seconds a train_step in
    each of ``bare_windows`` more, copies a step in those, and where it ran}."""
    from minigan import backend
    from minigan.gan import TrainConfig, Trainer
    settings = {**recipe.settings, "steps": LENGTH, "device": device, "data_dir": data_dir}
    config = TrainConfig.for_model(recipe.model, recipe.dataset, **settings)
    window = window or (config.log_every if device == "cuda" else recipe.cpu_window)
    config = dataclasses.replace(config, log_every=window)
    sync = backend.cupy().cuda.Device().synchronize if device == "cuda" else lambda: None
    with tempfile.TemporaryDirectory(prefix="minigan-recipe-") as out:
        start = time.perf_counter()
        trainer = Trainer(config, out, quiet=True)
        setup_s = time.perf_counter() - start
        trainer.fit(until=(windows + 1) * window)
        rates = [r["steps_per_s"] for r in trainer.records]
        bare, copies = [], Copies()
        with copies:
            for _ in range(bare_windows):
                sync()
                start = time.perf_counter()
                for _ in range(window):
                    trainer.train_step(log=False)
                sync()
                bare.append((time.perf_counter() - start) / window)
    steps = max(1, len(bare) * window)
    return {"rates": rates[1:], "warmup_rate": rates[0], "window": window, "bare_s": bare, "setup_s": setup_s,
            "to_device": copies.to_device / steps, "to_host": copies.to_host / steps, "where": where(device)}


def where(device):
    """The GPU's name, or the CPU's model and the cores this process may run on."""
    if device == "cuda":
        import cupy
        name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
        return f"{name.decode() if isinstance(name, bytes) else name}, CuPy {cupy.__version__}"
    return f"{cpu_model()}, cores {sorted(os.sched_getaffinity(0))} of {os.cpu_count()}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "CPU")
    except OSError:
        return platform.processor() or "CPU"


def child(args):
    recipe = next(r for r in RECIPES if r.name == args.child)
    windows = args.windows if args.device == "cuda" else args.cpu_windows
    bare_windows = windows if args.device == "cuda" else 0  # the loop around a step costs the CPU nothing to speak of
    print("RESULT " + json.dumps(measure(recipe, args.device, args.window, windows, bare_windows, args.data_dir)),
          flush=True)


# ---- the parent: data, the runs, the table ---------------------------------------------------------------------

def fashion_mnist(data_dir, scratch):
    """(folder of the training files, a description): Fashion-MNIST's, else random pixels written in ``scratch``."""
    paths = find_files(search_dirs("fashion-mnist", data_dir), STEMS)
    if paths:
        n = len(read_idx(paths[1]))
        return os.path.dirname(paths[0]), f"Fashion-MNIST from {os.path.dirname(paths[0])} ({n - VALIDATION_SIZE} " \
                                          f"training images)"
    import numpy as np
    rng, n = np.random.default_rng(0), 20_000
    folder = os.path.join(scratch, "fashion-mnist")
    os.makedirs(folder)
    write_idx(os.path.join(folder, STEMS[0]), rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    write_idx(os.path.join(folder, STEMS[1]), rng.integers(0, 10, n, dtype=np.uint8))
    return folder, (f"RANDOM PIXELS, not Fashion-MNIST (none in {search_dirs('fashion-mnist', data_dir)}): "
                    f"{n - VALIDATION_SIZE} training images of its shape")


def make_data(out, n, data_dir=None):
    """Fashion-MNIST's first ``n`` training images and labels as gzipped IDX files in ``out``/fashion-mnist."""
    paths = find_files(search_dirs("fashion-mnist", data_dir), STEMS)
    if not paths:
        sys.exit(f"recipes.py --make-data: no Fashion-MNIST training files in {search_dirs('fashion-mnist', data_dir)}")
    folder = os.path.join(out, "fashion-mnist")
    os.makedirs(folder, exist_ok=True)
    for path, stem in zip(paths, STEMS):
        target = os.path.join(folder, stem + ".gz")
        write_idx(target, read_idx(path)[:n])
        print(f"{target}: {os.path.getsize(target) / 1e6:.1f} MB (the first {n} of {path})")


def run_child(recipe, device, args, data_dir, timeout):
    """The child's result, or {"error": why}."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", recipe.name, "--device", device,
           "--window", str(args.window), "--windows", str(args.windows), "--cpu-windows", str(args.cpu_windows),
           "--data-dir", data_dir]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CUPY_TF32": "0"}
    cores = None
    if device == "cpu":
        env.update({v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        cores = sorted(os.sched_getaffinity(0))[-args.threads:]
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, timeout=timeout,
                              preexec_fn=cores and (lambda: os.sched_setaffinity(0, cores)))
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    lines = done.stdout.splitlines()
    print(*(line for line in lines if not line.startswith("RESULT ")), sep="\n", end="", flush=True)
    result = next((line[7:] for line in lines if line.startswith("RESULT ")), None)
    if done.returncode or result is None:
        return {"error": f"exit {done.returncode} (its traceback is above)"}
    return json.loads(result)


def summary(result):
    """One line of a child's figures, as it finishes."""
    if "error" in result:
        return result["error"]
    text = (f"{statistics.median(result['rates']):.1f} steps/s (windows of {result['window']}: "
            f"{', '.join(f'{r:.1f}' for r in result['rates'])}; warm-up {result['warmup_rate']:.1f}; "
            f"set-up {result['setup_s']:.1f} s)")
    if result["bare_s"]:
        text += (f"; train_step alone {statistics.median(result['bare_s']) * 1e3:.2f} ms; copies a step "
                 f"{result['to_device']:.1f} to the GPU, {result['to_host']:.1f} back")
    return f"{text}; on {result['where']}"


def table(rows, threads):
    """Markdown: a row per recipe, the GPU's figures and the CPU's side by side."""
    print(f"| recipe | `minigan train` | GPU steps/s | GPU ms a step | train_step alone (ms) | train / alone "
          f"| copies a step, to / from the GPU | {threads} CPU cores steps/s | GPU / CPU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for recipe, results in rows:
        gpu, cpu = results.get("cuda", {}), results.get("cpu", {})
        gpu_rate, cpu_rate = (statistics.median(r["rates"]) if r.get("rates") else None for r in (gpu, cpu))
        bare = statistics.median(gpu["bare_s"]) if gpu.get("bare_s") else None
        cells = [f"{gpu_rate:.1f}" if gpu_rate else gpu.get("error", "-"),
                 f"{1e3 / gpu_rate:.2f}" if gpu_rate else "-",
                 f"{bare * 1e3:.2f}" if bare else "-",
                 f"{1 / (gpu_rate * bare):.2f}" if gpu_rate and bare else "-",
                 f"{gpu['to_device']:.1f} / {gpu['to_host']:.1f}" if bare else "-",
                 f"{cpu_rate:.1f}" if cpu_rate else cpu.get("error", "-"),
                 f"{gpu_rate / cpu_rate:.2f}x" if gpu_rate and cpu_rate else "-"]
        print(f"| {recipe.name} | `{command(recipe)}` | " + " | ".join(cells) + " |")


def main():
    args = parse_args()
    if args.child:
        return child(args)
    if args.make_data:
        return make_data(args.make_data, args.images, args.data_dir)
    scratch = tempfile.mkdtemp(prefix="minigan-recipes-")
    try:
        data_dir, data = fashion_mnist(args.data_dir, scratch)
        print(f"Fashion-MNIST recipes train on: {data}", flush=True)
        start, rows, places = time.perf_counter(), [], {}
        for recipe in (r for r in RECIPES if r.name in args.recipes):
            results = {}
            for device in args.devices:
                left = args.budget_s - (time.perf_counter() - start)
                results[device] = (run_child(recipe, device, args, data_dir, min(args.run_timeout_s, left))
                                   if left > 5 else {"error": "no time left"})
                places[device] = places.get(device) or results[device].get("where")
                print(f"{recipe.name}, {device}: {summary(results[device])}", flush=True)
            rows.append((recipe, results))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    import numpy as np
    print(f"\nEvery shipped recipe through minigan's Trainer (the code `minigan train` runs), "
          f"{time.strftime('%Y-%m-%d')}; GPU: {places.get('cuda')}; CPU: {places.get('cpu')} ({args.threads} "
          f"threads); Python {platform.python_version()}, NumPy {np.__version__}; Fashion-MNIST: {data}; steps/s: "
          f"median of the trainer's windows after a warm-up one ({args.windows} on the GPU, {args.cpu_windows} on "
          f"the CPU)\n")
    table(rows, args.threads)


if __name__ == "__main__":
    main()
