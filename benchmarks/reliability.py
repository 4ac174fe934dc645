"""Reliability under kill: checkpoint saves, training runs, two trainers in one folder, downloads.

    python benchmarks/reliability.py [--saves 30] [--size-mb 200] [--runs 20] [--pairs 5] [--downloads 10]

1. Saves. A child process saves a state of --size-mb MB (four float32 arrays) to one file, over and over;
   every array of save k holds k only. It is killed with SIGKILL at a random moment, --saves times. After
   each kill the file must load, with one value in all its arrays (the old state or the new, never a mix);
   the temporaries the kill left are counted, then one more save is made and what is left after it counted.
2. Training. An uninterrupted `minigan train` (the ring, a small model, 1500 steps, a checkpoint every 100)
   is the reference. Then --runs runs per signal (SIGINT, SIGTERM, SIGKILL) are stopped at a random moment
   (uniform over the reference's time from its first step to its end) and continued with --resume (started
   again when no checkpoint was written yet); the final
   checkpoint's arrays must equal the reference's bit for bit, and metrics.jsonl must hold the reference's
   steps and numbers (all but steps_per_s), each once.
3. Two trainers. --pairs times, a second `minigan train` starts into the same --out one second after the
   first: one of them must run and the other exit 1 naming the folder and the other's process; config.json
   and the checkpoint must be the running one's.
4. Downloads. --downloads downloads from a server on 127.0.0.1 that stalls halfway are killed (SIGTERM and
   SIGKILL in turn); the next attempt must load the files and leave no temporary.
"""
import argparse
import functools
import hashlib
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import minigan  # noqa: E402
from minigan import files  # noqa: E402
from minigan.data.idx import load_mnist, write_idx  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": ROOT}
SMALL = ["--steps", "1500", "--checkpoint-every", "100", "--log-every", "20", "--sample-every", "1000",
         "--g-hidden", "16", "--d-hidden", "8", "--pieces", "2", "--batch-size", "64", "--quiet"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30, help="saves killed with SIGKILL")
    parser.add_argument("--size-mb", type=int, default=200, help="size of the saved state")
    parser.add_argument("--runs", type=int, default=20, help="training runs interrupted per signal")
    parser.add_argument("--pairs", type=int, default=5, help="pairs of trainers started into one folder")
    parser.add_argument("--downloads", type=int, default=10, help="downloads killed halfway")
    parser.add_argument("--seed", type=int, default=0, help="seeds the moments of the kills")
    parser.add_argument("--dir", help="scratch folder (default: a new one under /tmp, removed at the end)")
    return parser.parse_args()


# ---- 1. saves -------------------------------------------------------------------------------------------------

SAVER = textwrap.dedent("""
    import sys, numpy as np, minigan
    path, n = sys.argv[1], int(sys.argv[2]) // 4
    arrays = [np.empty(n, np.float32) for _ in range(4)]
    print("ready", flush=True)
    for k in range(1, 10**9):
        for a in arrays:
            a.fill(k)
        minigan.save({"k": k, "arrays": arrays}, path)
""")


def saves(folder, kills, size_mb, rng):
    path = os.path.join(folder, "state.npz")
    counts = dict(kills=0, mid_save=0, unloadable=0, mixed=0, left_by_kills=0, left_after_next_save=0)
    minigan.save({"k": 0, "arrays": [np.zeros(1, np.float32)] * 4}, path)
    save_time = timed(lambda: minigan.save({"k": 0, "arrays": [np.zeros((size_mb << 20) // 16, np.float32)] * 4}, path))
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", SAVER, path, str(size_mb << 20 >> 2)], env=ENV,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, 3 * save_time))
        child.kill()
        child.wait()
        child.stdout.close()
        counts["kills"] += 1
        left = files.temporaries(path)
        counts["mid_save"] += bool(left)
        counts["left_by_kills"] += len(left)
        try:
            state = minigan.load(path)
            values = {float(v) for a in state["arrays"] for v in (a.min(), a.max())}
            counts["mixed"] += values != {float(state["k"])}
        except minigan.CheckpointError:
            counts["unloadable"] += 1
        minigan.save({"k": 0, "arrays": [np.zeros(1, np.float32)] * 4}, path)
        counts["left_after_next_save"] += len(files.temporaries(path))
    return counts, save_time


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


# ---- 2. training ----------------------------------------------------------------------------------------------

def train(out, *argv):
    return subprocess.Popen([sys.executable, "-m", "minigan", "train", "--out", out, *SMALL, *argv], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def run_state(out):
    """(the checkpoint's arrays by name, metrics.jsonl's records without steps_per_s)."""
    with np.load(os.path.join(out, "checkpoint.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    with open(os.path.join(out, "metrics.jsonl")) as f:
        records = [{k: v for k, v in json.loads(line).items() if k != "steps_per_s"} for line in f]
    return arrays, records


def same(a, b):
    return a[0].keys() == b[0].keys() and all(a[0][k].tobytes() == b[0][k].tobytes() for k in a[0]) and a[1] == b[1]


def started(out, child):
    """Wait until ``child`` (training into ``out``) has written config.json, its last write before its first step."""
    while not os.path.exists(os.path.join(out, "config.json")) and child.poll() is None:
        time.sleep(0.005)


def training(folder, runs, rng):
    reference = os.path.join(folder, "reference")
    child = train(reference)
    started(reference, child)
    start = time.perf_counter()
    assert child.wait() == 0
    wall = time.perf_counter() - start  # from the first step to the end
    expected = run_state(reference)
    rows = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        row = rows[signal.Signals(signum).name] = dict(runs=0, resumed=0, mid_run=0, restarted=0, finished_first=0,
                                                       bit_exact=0)
        for i in range(runs):
            out = os.path.join(folder, f"{signum}-{i}")
            child = train(out)
            started(out, child)
            time.sleep(rng.uniform(0, 1) * wall)
            child.send_signal(signum)
            code = child.wait()
            child.communicate()
            row["runs"] += 1
            row["finished_first"] += code == 0
            resume = os.path.exists(os.path.join(out, "checkpoint.npz"))
            row["resumed" if resume else "restarted"] += code != 0
            row["mid_run"] += code != 0 and resume and minigan.load(os.path.join(out, "checkpoint.npz"))["step"] < 1500
            if code != 0:
                again = train(out, *(["--resume"] if resume else []))
                assert again.wait() == 0, again.communicate()[1]
            row["bit_exact"] += same(run_state(out), expected)
            shutil.rmtree(out)
    return rows, wall


# ---- 3. two trainers ------------------------------------------------------------------------------------------

def two_trainers(folder, pairs):
    counts = dict(pairs=0, one_refused=0, refusal_names_the_other=0, files_of_the_survivor=0)
    for i in range(pairs):
        out = os.path.join(folder, f"pair-{i}")
        long = ["--steps", "1000000", "--checkpoint-every", "1000000"]  # no checkpoint before the signal
        first = train(out, "--seed", "1", *long)
        time.sleep(1.0)
        second = train(out, "--seed", "2", *long)
        deadline = time.monotonic() + 60
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        refused, survivor = (first, second) if first.poll() is not None else (second, first)
        survivor.send_signal(signal.SIGTERM)
        survivor.wait()
        err = refused.communicate()[1]
        counts["pairs"] += 1
        counts["one_refused"] += refused.returncode == 1 and survivor.returncode == 128 + signal.SIGTERM
        counts["refusal_names_the_other"] += f"{out} is in use by process {survivor.pid} " in err
        seed = 1 if survivor is first else 2
        with open(os.path.join(out, "config.json")) as f:
            config = json.load(f)
        checkpoint_config = json.loads(minigan.load(os.path.join(out, "checkpoint.npz"))["config"])
        counts["files_of_the_survivor"] += config["seed"] == seed == checkpoint_config["seed"]
        survivor.communicate()
    return counts


# ---- 4. downloads ---------------------------------------------------------------------------------------------

class Stalling(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: len(data) // 2])
        outputfile.flush()
        time.sleep(60)


DOWNLOAD = "import sys; from minigan.data.idx import load_mnist; load_mnist('mnist', 'test', data_dir=sys.argv[1], " \
           "mirror=sys.argv[2], sha256={})"


def serve(root, handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def downloads(folder, kills):
    root = os.path.join(folder, "www")
    os.makedirs(root)
    digests = {}
    for name, array in (("t10k-images-idx3-ubyte.gz", np.zeros((2000, 28, 28), np.uint8) + 7),
                        ("t10k-labels-idx1-ubyte.gz", np.arange(2000, dtype=np.uint8) % 10)):
        write_idx(os.path.join(root, name), array)
        with open(os.path.join(root, name), "rb") as f:
            digests[name] = hashlib.sha256(f.read()).hexdigest()
    (stalling, stalling_url), (plain, url) = serve(root, Stalling), serve(root, http.server.SimpleHTTPRequestHandler)
    counts = dict(kills=0, left_by_kills=0, left_after_next_attempt=0, loaded=0)
    for i in range(kills):
        target = os.path.join(folder, f"data-{i}")
        child = subprocess.Popen([sys.executable, "-c", DOWNLOAD, target, stalling_url], env=ENV,
                                 stderr=subprocess.DEVNULL)
        while not (os.path.isdir(target) and os.listdir(target)):
            time.sleep(0.02)
        time.sleep(0.3)
        child.send_signal((signal.SIGTERM, signal.SIGKILL)[i % 2])
        child.wait()
        counts["kills"] += 1
        counts["left_by_kills"] += sum(len(files.temporaries(os.path.join(target, n))) for n in digests)
        with open(os.devnull, "w") as quiet:
            stderr, sys.stderr = sys.stderr, quiet
            try:
                labels = load_mnist("mnist", "test", data_dir=target, mirror=url, sha256=digests)[1]
            finally:
                sys.stderr = stderr
        counts["loaded"] += len(labels) == 2000
        counts["left_after_next_attempt"] += sum(len(files.temporaries(os.path.join(target, n))) for n in digests)
    for server in (stalling, plain):
        server.shutdown()
        server.server_close()
    return counts


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    folder = args.dir or tempfile.mkdtemp(prefix="minigan-reliability-")
    os.makedirs(folder, exist_ok=True)
    try:
        counts, save_time = saves(folder, args.saves, args.size_mb, rng)
        print(f"1. saves of {args.size_mb} MB ({save_time:.2f} s each) killed with SIGKILL: {counts['kills']}; "
              f"killed mid-save (a temporary left): {counts['mid_save']}")
        print(f"   unloadable afterwards: {counts['unloadable']}; a mix of two states: {counts['mixed']}; "
              f"temporaries left by the kills: {counts['left_by_kills']}, after the next save: "
              f"{counts['left_after_next_save']}")
        rows, wall = training(folder, args.runs, rng)
        print(f"2. training runs (uninterrupted: {wall:.2f} s from the first step) interrupted, then continued:")
        for name, row in rows.items():
            print(f"   {name}: {row['runs']} runs; resumed from a checkpoint {row['resumed']} (before the last step: "
                  f"{row['mid_run']}), started again "
                  f"(no checkpoint yet) {row['restarted']}, finished before the signal {row['finished_first']}; "
                  f"bit-exact with the uninterrupted run: {row['bit_exact']} / {row['runs']}")
        counts = two_trainers(folder, args.pairs)
        print(f"3. two trainers into one folder, 1 s apart: {counts['pairs']} pairs; one ran and the other was "
              f"refused: {counts['one_refused']}; the refusal named the other process: "
              f"{counts['refusal_names_the_other']}; config.json and checkpoint of the one that ran: "
              f"{counts['files_of_the_survivor']}")
        counts = downloads(folder, args.downloads)
        print(f"4. downloads killed halfway (SIGTERM, SIGKILL in turn): {counts['kills']}; temporaries left by "
              f"the kills: {counts['left_by_kills']}, after the next attempt: {counts['left_after_next_attempt']}; "
              f"next attempts that loaded the data: {counts['loaded']}")
    finally:
        if not args.dir:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
