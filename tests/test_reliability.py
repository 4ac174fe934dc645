"""Nothing lost, nothing silently wrong: every input validated with a clear error, and the run folder's promises
kept by real `minigan train` processes (one writer, no stale metrics, non-finite values stop the run).

The unit cases live beside their modules (test_files, test_serialize, test_trainer, test_download, test_idx,
test_folder, test_loader, test_random, test_optim); the long kill -9 loops are benchmarks/reliability.py.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigan
from minigan import nn, optim
from minigan.cli import main
from minigan.data import DataLoader
from minigan.gan.trainer import float_arrays

ROOT = os.path.dirname(os.path.dirname(minigan.__file__))
T = minigan.ones(2, 3)

API_CASES = {  # the call: (the error, what it says)
    "minigan.zeros(-1, 3)": (lambda: minigan.zeros(-1, 3), ValueError,
                             r"zeros: sizes must be ints >= 0, got \(-1, 3\)"),
    "minigan.randn(2.0)": (lambda: minigan.randn(2.0), TypeError, r"randn: sizes must be ints, got \(2.0,\)"),
    "nn.Linear(-1, 2)": (lambda: nn.Linear(-1, 2), ValueError, "Linear: in_features must be at least 1, got -1"),
    "nn.Conv2d(1, 1, 0)": (lambda: nn.Conv2d(1, 1, 0), ValueError,
                           r"Conv2d: kernel_size must be ints >= 1, got \(0, 0\)"),
    "nn.Conv2d(1, 1, 3, stride=1.5)": (lambda: nn.Conv2d(1, 1, 3, stride=1.5), TypeError,
                                       "Conv2d: stride must be ints"),
    "nn.ConvTranspose2d(1, 1, (3, 3, 3))": (lambda: nn.ConvTranspose2d(1, 1, (3, 3, 3)), ValueError,
                                            "ConvTranspose2d: kernel_size must be an int or a pair of ints"),
    "nn.BatchNorm2d(8, momentum=2)": (lambda: nn.BatchNorm2d(8, momentum=2), ValueError,
                                      r"BatchNorm2d: momentum must be in \[0, 1\] \(or None\), got 2"),
    "nn.Dropout('0.5')": (lambda: nn.Dropout("0.5"), TypeError, "Dropout: p must be a number"),
    "nn.Maxout(4, 2, pieces=0)": (lambda: nn.Maxout(4, 2, pieces=0), ValueError, "Maxout: pieces must be at least 1"),
    "t.reshape(2.0, 3)": (lambda: T.reshape(2.0, 3), TypeError, r"reshape: shape must be ints, got \(2.0, 3\)"),
    "t.reshape(-1, -1)": (lambda: T.reshape(-1, -1), ValueError, "reshape: only one size may be -1"),
    "t.sum(axis=1.5)": (lambda: T.sum(axis=1.5), TypeError,
                        "sum: axis must be an int, a tuple of ints or None, got 1.5"),
    "t.mean(dim='0')": (lambda: T.mean(dim="0"), TypeError, "mean: axis must be an int"),
    "t.transpose(0, 2)": (lambda: T.transpose(0, 2), ValueError, "transpose: axis 2 is out of range for 2 dimensions"),
    "optim.SGD(params, lr='0.1')": (lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr="0.1"), TypeError,
                                    "SGD: lr must be a number >= 0, got '0.1'"),
    "optim.Adam(params, betas=(0.9, 1.0))": (lambda: optim.Adam(nn.Linear(2, 2).parameters(), betas=(0.9, 1.0)),
                                             ValueError, r"Adam: betas must be in \[0, 1\), got 1.0"),
    "DataLoader(batch_size=2.5)": (lambda: DataLoader((np.zeros((4, 2)),), 2.5), TypeError,
                                   "DataLoader: batch_size must be an int, got 2.5"),
    "DataLoader(generator=0)": (lambda: DataLoader((np.zeros((4, 2)),), 2, generator=0), TypeError,
                                "DataLoader: generator must be a minigan.Generator or None, got 0"),
    "DataLoader(an array, not a tuple)": (lambda: DataLoader(np.zeros((4, 2)), 2), TypeError,
                                          r"got a single array of shape \(4, 2\)"),
    "Generator.set_state(garbage)": (lambda: minigan.Generator(0).set_state("garbage"), ValueError,
                                     "Generator.set_state: expected the string get_state"),
}


@pytest.mark.parametrize("call", list(API_CASES))
def test_wrong_types_and_values_at_the_api_name_the_op_and_the_argument(call):
    make, error, message = API_CASES[call]
    with pytest.raises(error, match=message):
        make()


# ---- real `minigan train` processes ------------------------------------------------------------------------------

SMALL = ["--g-hidden", "16", "--d-hidden", "8", "--pieces", "2", "--batch-size", "16", "--quiet"]


def minigan_train(*argv):
    return subprocess.Popen([sys.executable, "-m", "minigan", "train", *argv, *SMALL], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": ROOT})


def wait_for(condition, process, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def stop(process, signum):
    process.send_signal(signum)
    return process.wait(timeout=60), process.communicate()[1]


def test_a_second_trainer_into_the_same_folder_is_refused(tmp_path):
    run = tmp_path / "run"
    first = minigan_train("--steps", "1000000", "--checkpoint-every", "1000000", "--seed", "1", "--out", str(run))
    try:
        wait_for(lambda: (run / ".lock").is_file() and (run / ".lock").read_text(), first)
        second = minigan_train("--steps", "20", "--seed", "2", "--out", str(run))
        code, err = second.wait(timeout=60), second.communicate()[1]
        assert code == 1 and err.count("\n") == 1, err
        assert f"minigan train: error: {run} is in use by process {first.pid} " in err
        assert first.poll() is None and json.loads((run / "config.json").read_text())["seed"] == 1
    finally:
        code, err = stop(first, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    assert json.loads((run / "config.json").read_text())["seed"] == 1 and not (run / ".lock").exists()
    assert minigan.load(run / "checkpoint.npz")["step"] > 0


def test_a_run_killed_before_its_first_checkpoint_starts_again_without_stale_metrics(tmp_path):
    run = tmp_path / "run"
    first = minigan_train("--steps", "1000000", "--checkpoint-every", "1000000", "--log-every", "10", "--out", str(run))
    try:
        wait_for(lambda: (run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").read_text().count("\n") >= 3,
                 first)
    finally:
        stop(first, signal.SIGKILL)
    assert not (run / "checkpoint.npz").exists() and (run / ".lock").exists()  # the lock file stays, held by no one
    again = minigan_train("--steps", "30", "--log-every", "10", "--out", str(run))
    assert again.wait(timeout=60) == 0, again.communicate()
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20, 30]


def test_the_ring_at_lr_100_stops_with_one_line_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    process = subprocess.run([sys.executable, "-m", "minigan", "train", "--lr", "100", "--checkpoint-every", "1",
                              "--log-every", "1", "--steps", "200", "--batch-size", "64", "--quiet", "--out", str(run)],
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert process.returncode == 1 and process.stderr.count("\n") == 1, process.stderr
    assert re.match(r"minigan train: error: step \d+: .* the last good checkpoint, .* is left in place",
                    process.stderr)
    state = minigan.load(run / "checkpoint.npz")
    assert all(np.isfinite(a).all() for _, a in float_arrays(state))
    assert "Infinity" not in (run / "metrics.jsonl").read_text() and "NaN" not in (run / "metrics.jsonl").read_text()


def test_a_broken_or_edited_config_json_is_named_at_the_command_line(capsys, tmp_path):
    run = str(tmp_path / "run")
    assert main(["train", "--steps", "4", "--out", run, *SMALL]) == 0
    config = tmp_path / "run" / "config.json"
    good = config.read_text()
    for text, words in [(good[:-10], "not a minigan config"),
                        (good.replace('"noise_dim": 2', '"noise_dim": "two"'), "noise_dim must be an integer"),
                        (good.replace('"scale": "tanh"', '"scale": "unit"'),
                         "checkpoint.npz was trained with scale='tanh', but")]:
        config.write_text(text)
        capsys.readouterr()
        assert main(["evaluate", run]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{config}" in err and words in err, err
