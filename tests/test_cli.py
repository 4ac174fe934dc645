"""The command line: help, one-line errors, train / sample / evaluate end to end, resume rules, SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import minigan
from minigan import progress
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


def status(capsys, *argv):
    """(exit status, stdout, stderr) of ``minigan argv``, whether argparse exits or main returns."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    return code, *capsys.readouterr()


def words(text):
    return " ".join(text.split())  # help text with argparse's line wrapping undone


@pytest.mark.parametrize("argv", [[], ["train"], ["sample"], ["evaluate"]])
def test_help_describes_every_command(capsys, argv):
    code, out, _ = exit_code(capsys, *argv, "--help")
    assert code == 0 and "usage: minigan" in out
    for word in {(): ["train", "sample", "evaluate"], ("train",): ["--dataset", "--resume", "--pack", "--ema",
                 "--g-hidden", "examples:"], ("sample",): ["--n", "--out"], ("evaluate",): ["Parzen"]}[tuple(argv)]:
        assert word in out


@pytest.mark.parametrize("argv, recipe", [
    ([], ["--dataset {fashion-mnist,folder,grid,mnist,ring} what to learn (default: ring)",
          "--steps N generator updates (default: 12000)", "--batch-size B samples per batch (default: 512)",
          "--betas B1,B2 Adam's (default: 0.0,0.99)", "size of z (default: 2)", "(default: 64,64,64,64)",
          "--momentum MOMENTUM SGD's (with --optimizer sgd)"]),
    (["--dataset", "grid"], ["(default: 40000)", "(default: 128,128,128,128)"]),
    (["mlp-gan", "--dataset", "mnist"], ["--epochs N passes over an image dataset (default: 50)",
                                         "(default: 100)", "--optimizer {adam,sgd} of both nets (default: sgd)",
                                         "--momentum MOMENTUM SGD's (default: 0.5)", "Adam's (with --optimizer adam)",
                                         "(default: 1200,1200)", "(default: uniform)", "size of z (default: 100)"]),
    (["dcgan"], ["what to learn (default: fashion-mnist)", "(default: 128)", "Adam's (default: 0.5,0.999)",
                 "--ngf NGF generator feature maps at the last layer before the image (default: 64)",
                 "(default: 5)", "Defaults below: dcgan's recipe for fashion-mnist"]),
    (["dcgan", "--dataset", "folder"], ["image side, a power of two: 32 (28x28 data padded by 2 px) or 64 "
                                        "(resized) (default: 64)"]),
])
def test_train_help_shows_the_defaults_of_the_recipe_of_the_model_and_dataset(capsys, argv, recipe):
    code, out, _ = exit_code(capsys, "train", *argv, "--help")
    assert code == 0
    for text in recipe:
        assert text in words(out)
    other = "--g-hidden" if argv[:1] == ["dcgan"] else "--ngf"
    assert other not in out  # another family's options are not shown


def test_version(capsys):
    code, out, _ = exit_code(capsys, "--version")
    assert code == 0 and out.strip() == f"minigan {minigan.__version__}"


@pytest.mark.parametrize("argv, words", [
    (["train", "--dataset", "moons"], "invalid choice: 'moons'"),
    (["train", "--steps", "-5"], "expected a positive integer, got '-5'"),
    (["train", "--steps", "3", "--epochs", "2"], "not allowed with argument"),
    (["train", "--ema", "1.5"], "expected a number in [0, 1)"),
    (["train", "--g-hidden", "12,x"], "argument --g-hidden"),
    (["train", "--pieces", "0"], "argument --pieces: expected a positive integer, got '0'"),
    (["train", "--dropout-in", "1.5"], "argument --dropout-in: expected a probability in [0, 1), got '1.5'"),
    (["train", "--betas", "0.5,2"], "expected two numbers in [0, 1) like 0.5,0.999, got '0.5,2'"),
    (["train", "--stpes", "5"], "unrecognized argument: --stpes; did you mean --steps? (see minigan train --help)"),
    (["train", "gan"], "argument MODEL: invalid choice: 'gan' (choose from dcgan, mlp-gan)"),
    (["train", "--ngf", "8"], "--ngf is an option of dcgan, not of mlp-gan (see minigan train --help)"),
    (["train", "dcgan", "--pieces", "2"], "--pieces is an option of mlp-gan, not of dcgan"),
    (["train", "--momentum", "0.9"], "--momentum 0.9 does not apply: the run uses adam"),
    (["train", "mlp-gan", "--dataset", "mnist", "--betas", "0.5,0.9"], "--betas 0.5,0.9 does not apply: the run "
                                                                        "uses sgd"),
    (["train", "--data-dir", "x"], "--data-dir x does not apply: ring is drawn on the fly"),
    (["evaluate", "run", "--quite"], "did you mean --quiet? (see minigan evaluate --help)"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_status_2_and_write_nothing(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = status(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err and "Traceback" not in err, err
    assert os.listdir(tmp_path) == []  # no runs/ folder


def test_a_bad_value_found_by_the_trainer_writes_nothing_either(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    images = tmp_path / "few"
    images.mkdir()
    for i in range(20):
        Image.new("RGB", (12, 12), (i * 10, 0, 0)).save(images / f"{i}.png")
    for argv, message in [(["--epochs", "2"], "ring is drawn afresh at every step and has no epochs"),
                          (["dcgan", "--dataset", "folder", "--data-dir", "few", "--ngf", "4", "--ndf", "4"],
                           "folder has 20 images, fewer than one batch of 128: lower --batch-size")]:
        code, _, err = status(capsys, "train", *argv)
        assert code == 1 and err.count("\n") == 1 and message in err, err
    assert os.listdir(tmp_path) == ["few"]


def test_a_bad_config_file_is_named(capsys, tmp_path):
    (tmp_path / "junk.json").write_text('{"seed": ')
    for name, message in (("junk.json", "not a minigan config (Expecting value"),
                          ("none.json", "No such file or directory")):
        path = str(tmp_path / name)
        code, _, err = status(capsys, "train", "--config", path, "--out", str(tmp_path / "run"))
        assert code == 1 and f"--config {path}: {message}" in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


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
    code, out, _ = run_cli(capsys, "evaluate", run)  # 4 steps cover no mode: reverse KL is infinite
    result = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert result["modes"] == 0 and result["reverse_kl"] is None and result["non_finite"] == {"reverse_kl": "inf"}
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
                           "--steps", "2", "--log-every", "1", "--out", run, *TINY)
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
                              "--out", str(run), *TINY[:-1]], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (run / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert (run / "checkpoint.npz").exists() and "Traceback" not in err
    assert f"checkpoint saved to {run / 'checkpoint.npz'}; continue with: minigan train --resume --out {run}" in err


def test_a_diverging_run_says_so_in_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--lr", "1e30", "--optimizer", "sgd", "--steps", "20",
                           "--out", str(tmp_path / "run"), *TINY)
    assert code == 1 and err.count("\n") == 1 and "loss became" in err and "no checkpoint" in err, err


def snapshot(folder):
    """Every file of ``folder`` and its bytes."""
    return {p: open(os.path.join(folder, p), "rb").read() for p in os.listdir(folder)
            if os.path.isfile(os.path.join(folder, p))}


def test_resume_cannot_change_what_a_run_is(capsys, tmp_path):
    run = str(tmp_path / "run")
    assert run_cli(capsys, "train", "--steps", "4", "--out", run, *TINY)[0] == 0
    before = snapshot(run)
    for argv, message in [(["--dataset", "grid"], "--dataset grid differs from the run's ring"),
                          (["--g-hidden", "32"], "--g-hidden 32 differs from the run's 16"),
                          (["--seed", "3"], "--seed 3 differs from the run's 0"),
                          (["dcgan"], "the model dcgan differs from the run's mlp-gan"),
                          (["--ngf", "8"], "--ngf is an option of dcgan, not of mlp-gan"),
                          (["--config", os.path.join(run, "config.json")], "--config starts a new run")]:
        code, _, err = run_cli(capsys, "train", "--resume", "--out", run, *argv)
        assert code == 2 and message in err and err.count("\n") == 1, err
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--steps", "3")
    assert code == 1 and "is at step 4, past the 3 steps asked for" in err
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run)
    assert code == 0 and "nothing to do" in err
    for dry in (["--dry-run"], ["--dry-run", "--steps", "8"]):  # a finished run, then two steps of a longer one
        code, _, err = run_cli(capsys, "train", "--resume", "--out", run, *dry)
        assert code == 0 and ("nothing to do" if len(dry) == 1 else "nothing was written") in err, err
    assert snapshot(run) == before
    code, _, err = run_cli(capsys, "train", "--resume", "--out", run, "--steps", "6", "--log-every", "3")
    assert code == 0 and "resuming mlp-gan on ring (cpu, seed 0) from step 4 to 6" in err
    config = json.load(open(os.path.join(run, "config.json")))
    assert (config["steps"], config["log_every"], config["seed"]) == (6, 3, 0)


def test_a_dry_run_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "train", "--dry-run", *TINY[:-1])
    assert code == 0 and "from step 0 to 2 of 12000 -> a temporary folder (dry run)" in err
    assert "the setup works; nothing was written" in err and os.listdir(tmp_path) == []


def test_evaluate_shows_its_progress_on_stderr_unless_quiet(capsys, tmp_path, monkeypatch):
    run = str(tmp_path / "run")
    assert run_cli(capsys, "train", "--steps", "2", "--out", run, *TINY)[0] == 0
    monkeypatch.setattr(progress, "DELAY", 0)  # bars that end within DELAY seconds are not drawn
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0 and "sampling 2,500" in err and json.loads(out)["step"] == 2
    code, out, err = run_cli(capsys, "evaluate", run, "--quiet")
    assert code == 0 and err == "" and json.loads(out)["step"] == 2


def test_interpolate_on_a_run_of_points_says_it_is_for_images(capsys, tmp_path):
    run = str(tmp_path / "run")
    assert run_cli(capsys, "train", "--steps", "2", "--out", run, *TINY)[0] == 0
    code, _, err = run_cli(capsys, "interpolate", run, "--out", str(tmp_path / "walk.png"))
    assert code == 1 and "is a run on ring (points): latent walks and vector arithmetic are for runs on images" in err
