"""The command line: help, one-line errors, train / sample / evaluate end to end, SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minigan.cli import main
from minigan.data import write_idx

TINY = ["--g-hidden", "16", "--d-hidden", "8", "--pieces", "2", "--noise-dim", "4", "--batch-size", "16", "--quiet"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def exit_code(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    return e.value.code, *capsys.readouterr()


@pytest.mark.parametrize("argv", [[], ["train"], ["sample"], ["evaluate"]])
def test_help_describes_every_command(capsys, argv):
    code, out, _ = exit_code(capsys, *argv, "--help")
    assert code == 0 and "usage: minigan" in out
    for word in {(): ["train", "sample", "evaluate"], ("train",): ["--dataset", "--resume", "--pack", "--ema",
                 "--g-hidden", "examples:"], ("sample",): ["--n", "--out"], ("evaluate",): ["Parzen"]}[tuple(argv)]:
        assert word in out


@pytest.mark.parametrize("argv, words", [
    (["train", "--dataset", "moons"], "invalid choice: 'moons'"),
    (["train", "--steps", "-5"], "expected a positive integer, got '-5'"),
    (["train", "--steps", "3", "--epochs", "2"], "not allowed with argument"),
    (["train", "--ema", "1.5"], "expected a number in [0, 1)"),
    (["train", "--g-hidden", "12,x"], "argument --g-hidden"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_status_2(capsys, argv, words):
    code, out, err = exit_code(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err and "Traceback" not in err


def test_a_missing_run_folder_gives_one_line_and_status_1(capsys, tmp_path):
    for command in (["sample", str(tmp_path / "nope")], ["evaluate", str(tmp_path / "nope")],
                    ["train", "--resume", "--out", str(tmp_path / "nope")]):
        code, out, err = run_cli(capsys, *command)
        assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "no run folder at" in run_cli(capsys, "evaluate", str(tmp_path / "nope"))[2]


def test_train_sample_evaluate_on_points(capsys, tmp_path):
    run = str(tmp_path / "run")
    assert run_cli(capsys, "train", "--steps", "4", "--out", run, *TINY)[0] == 0
    code, _, err = run_cli(capsys, "train", "--steps", "4", "--out", run, *TINY)
    assert code == 1 and "already holds a run" in err
    assert run_cli(capsys, "train", "--resume", "--steps", "6", "--out", run, "--quiet")[0] == 0
    assert json.load(open(os.path.join(run, "config.json")))["steps"] == 6
    again = str(tmp_path / "again")
    assert run_cli(capsys, "train", "--config", os.path.join(run, "config.json"), "--seed", "3", "--out", again,
                   "--quiet")[0] == 0
    config = json.load(open(os.path.join(again, "config.json")))
    assert config["seed"] == 3 and config["steps"] == 6 and config["arch"]["g_hidden"] == [16]
    assert run_cli(capsys, "sample", run, "--n", "7", "--out", str(tmp_path / "s.npz"))[0] == 0
    assert np.load(tmp_path / "s.npz")["samples"].shape == (7, 2)
    code, out, _ = run_cli(capsys, "evaluate", run)
    result = json.loads(out)
    assert code == 0 and result["step"] == 6 and result["samples"] == 2500 and result["n_modes"] == 8
    assert {"modes", "high_quality", "reverse_kl"} <= set(result)


def fake_mnist(folder, n_train=10_032, n_test=30):
    """MNIST-shaped IDX files (the validation split is the last 10,000 training images)."""
    rng = np.random.default_rng(0)
    os.makedirs(folder)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), rng.integers(0, 10, n, np.uint8))


def test_train_sample_evaluate_on_images(capsys, tmp_path):
    fake_mnist(tmp_path / "mnist")
    run = str(tmp_path / "run")
    code, _, err = run_cli(capsys, "train", "--dataset", "mnist", "--data-dir", str(tmp_path / "mnist"),
                           "--dry-run", "--out", run, *TINY)
    assert code == 0, err
    assert {"samples.png", "losses.png", "checkpoint.npz"} <= set(os.listdir(run))
    assert run_cli(capsys, "sample", run, "--n", "5", "--out", str(tmp_path / "s.npz"))[0] == 0
    samples = np.load(tmp_path / "s.npz")["samples"]
    assert samples.shape == (5, 1, 28, 28) and samples.min() >= -1 and samples.max() <= 1
    result = json.loads(run_cli(capsys, "evaluate", run)[1])
    assert result["samples"] == 10_000 and np.isfinite(result["parzen_log_likelihood"])
    assert {"parzen_sigma", "parzen_stderr"} <= set(result)


def test_sigterm_checkpoints_the_run_and_exits_143(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    child = subprocess.Popen([sys.executable, "-m", "minigan", "train", "--steps", "1000000", "--log-every", "1",
                              "--out", str(run), *TINY], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (run / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert (run / "checkpoint.npz").exists() and "Traceback" not in err


def test_a_diverging_run_says_so_in_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--lr", "1e30", "--optimizer", "sgd", "--steps", "20",
                           "--out", str(tmp_path / "run"), *TINY)
    assert code == 1 and err.count("\n") == 1 and "loss became" in err and "no checkpoint" in err, err
