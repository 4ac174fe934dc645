"""Every example is a program: a real --help that writes nothing, a seconds-long run, files under --out,
a second run that continues the first instead of starting over, and Ctrl-C as minigan train handles it."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_image_metrics import fake_mnist
from test_dcgan import stripes, tiny_config

from minigan.gan import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "examples", "*.py")))


def command(name, *args):
    return [sys.executable, os.path.join(ROOT, "examples", name), *map(str, args)]


def environment(home):
    """PYTHONPATH at this checkout; HOME elsewhere, so that no cached classifier of the user's is read or written."""
    return {**os.environ, "PYTHONPATH": ROOT, "HOME": str(home)}


def example(tmp_path, name, *args):
    """(exit status, stdout, stderr) of ``python examples/name args``, run in ``tmp_path``."""
    done = subprocess.run(command(name, *args), cwd=tmp_path, env=environment(tmp_path), capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_every_example_is_tested_here():
    assert set(EXAMPLES) == {"dcgan_fashion_mnist.py", "dcgan_folder_gpu.py", "mlp_gan_2d.py",
                             "mlp_gan_fashion_mnist.py", "optimal_discriminator.py", "vector_arithmetic.py"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_help_describes_the_options_and_writes_nothing(tmp_path, name):
    code, out, err = example(tmp_path, name, "--help")
    assert code == 0 and out.startswith("usage:") and "--out" in out and err == "", err
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Fake Fashion-MNIST files (200 training images of 2 classes) and a folder of 48 striped PNGs."""
    root = tmp_path_factory.mktemp("data")
    fake_mnist(root / "fashion-mnist")
    return {"mnist": str(root / "fashion-mnist"), "folder": stripes(root / "stripes")}


def test_mlp_gan_2d_trains_then_continues_its_run(tmp_path):
    code, out, err = example(tmp_path, "mlp_gan_2d.py", "--steps", 100, "--out", "ring", "--quiet")
    assert code == 0 and json.loads(out)["step"] == 100, err
    assert {"samples.png", "losses.png", "checkpoint.npz"} <= set(os.listdir(tmp_path / "ring"))
    code, out, err = example(tmp_path, "mlp_gan_2d.py", "--steps", 200, "--out", "ring", "--quiet")
    assert code == 0 and json.loads(out)["step"] == 200, err
    steps = [json.loads(line)["step"] for line in (tmp_path / "ring" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [100, 200]  # one history, continued (the recipe logs every 100 steps)
    code, _, err = example(tmp_path, "mlp_gan_2d.py", "--steps", 200, "--seed", 1, "--out", "ring")
    assert code == 1 and "--seed 1 differs from the run's 0" in err and err.count("\n") == 1, err


def test_ctrl_c_checkpoints_and_says_how_to_continue(tmp_path):
    args = ["--steps", 1_000_000, "--out", "ring", "--quiet"]
    child = subprocess.Popen(command("mlp_gan_2d.py", *args), cwd=tmp_path, env=environment(tmp_path),
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ring" / "metrics.jsonl").exists() and time.monotonic() < deadline:  # it trains
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "Traceback" not in err and err.count("\n") == 1, err
    assert "stopped by SIGINT at step" in err and "continue with: python " in err and err.rstrip().endswith(
        "mlp_gan_2d.py --steps 1000000 --out ring --quiet")
    assert (tmp_path / "ring" / "checkpoint.npz").exists()


def test_mlp_gan_fashion_mnist(tmp_path, data):
    code, out, err = example(tmp_path, "mlp_gan_fashion_mnist.py", "--steps", 2, "--data-dir", data["mnist"],
                             "--out", "run", "--quiet")
    result = json.loads(out[:out.rindex("}") + 1])
    assert code == 0 and result["step"] == 2 and set(result["real_images_parzen"]) == {"sigma", "mean", "stderr"}
    assert (tmp_path / "run" / "samples.png").exists()


def test_dcgan_fashion_mnist(tmp_path, data):
    code, out, err = example(tmp_path, "dcgan_fashion_mnist.py", "--steps", 2, "--width", 4, "--batch-size", 8,
                             "--image-size", 16, "--data-dir", data["mnist"], "--out", "run", "--quiet")
    result = json.loads(out[:out.rindex("}") + 1])
    assert code == 0 and result["step"] == 2 and "frechet_distance" in result, err
    assert {"samples.png", "interpolation.png", "filters.png"} <= set(os.listdir(tmp_path / "run"))
    assert os.path.exists(tmp_path / ".cache" / "minigan" / "classifiers" / "fashion-mnist-16.npz")


def test_dcgan_folder(tmp_path, data):
    code, _, err = example(tmp_path, "dcgan_folder_gpu.py", "--data-dir", data["folder"], "--device", "cpu",
                           "--steps", 2, "--batch-size", 8, "--image-size", 16, "--width", 4, "--out", "run",
                           "--quiet")
    assert code == 0 and "training on cpu: 6 steps per epoch, step 0 of 2" in err, err
    assert {"samples.png", "interpolation.png", "filters.png"} <= set(os.listdir(tmp_path / "run"))


def test_optimal_discriminator(tmp_path):
    code, out, err = example(tmp_path, "optimal_discriminator.py", "--steps", 30, "--out", "plots")
    assert code == 0 and "max |D - D*|" in out and os.listdir(tmp_path / "plots") == ["optimal_discriminator.png"]


def test_vector_arithmetic(tmp_path, data):
    Trainer(tiny_config(data["folder"], steps=2), tmp_path / "run", quiet=True).fit()
    assert example(tmp_path, "vector_arithmetic.py", "run", "--pick")[0] == 0
    code, out, err = example(tmp_path, "vector_arithmetic.py", "run", "--a", "1,2", "--b", 3, "--c", "4,5",
                             "--out", "pictures")
    assert code == 0 and (tmp_path / "run" / "picks.png").exists() and os.listdir(tmp_path / "pictures") == [
        "arithmetic.png"], err
    code, _, err = example(tmp_path, "vector_arithmetic.py", "run")
    assert code == 2 and "give --a, --b and --c" in err
