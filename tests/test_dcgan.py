"""The DCGAN: the paper's architecture rules and initialisation, image sizes, and a tiny run that trains and resumes."""
import json
import os

import numpy as np
import pytest
from PIL import Image

import minigan
from minigan import nn
from minigan.cli import main
from minigan.gan import TrainConfig, Trainer, dcgan, get_dataset
from minigan.gan.datasets import fit_size


def stripes(folder, n=48, size=20, seed=0):
    """A folder of ``n`` RGB PNGs: one vertical stripe of a random colour at a random place."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = np.zeros((size, size, 3), np.uint8)
        left = rng.integers(0, size - 6)
        image[:, left:left + 6] = rng.integers(80, 256, 3)
        Image.fromarray(image).save(os.path.join(folder, f"{i}.png"))
    return folder


def tiny_config(folder, **settings):
    """DCGAN on 16x16 stripes: G 4 -> 8 -> 16, a few steps in well under a second each."""
    settings = {"steps": 8, "epochs": None, "batch_size": 8, "noise_dim": 8, "log_every": 2, "checkpoint_every": 4,
                "sample_every": 4, "data_dir": str(folder), **settings}
    return TrainConfig.for_model("dcgan", "folder", arch=dict(image_size=16, ngf=4, ndf=4), **settings)


def outputs(net, x, kind):
    """The outputs of ``net``'s layers of type ``kind`` for the input x."""
    found = []
    for layer in net:
        x = layer(x)
        if isinstance(layer, kind):
            found.append(x)
    return found


@pytest.mark.parametrize("size", [32, 64])
def test_the_generator_doubles_from_4x4_and_the_discriminator_mirrors_it(size):
    G, D = dcgan.dcgan_generator(10, 4, 3, size), dcgan.dcgan_discriminator(3, 4, size)
    sides = [x.shape[-1] for x in outputs(G, minigan.randn(2, 10), nn.ConvTranspose2d)]
    assert sides == [4 * 2**i for i in range(len(sides))] and sides[-1] == size
    assert [x.shape[-1] for x in outputs(D, minigan.randn(2, 3, size, size), nn.Conv2d)] == sides[::-1][1:] + [1]
    assert D(G(minigan.randn(2, 10))).shape == (2, 1)


def test_the_paper_rules_no_pooling_no_hidden_dense_batch_norm_but_at_the_ends():
    G, D = dcgan.dcgan_generator(100, 8, 1, 32), dcgan.dcgan_discriminator(1, 8, 32)
    types = [type(m) for m in G] + [type(m) for m in D]
    assert nn.Linear not in types and all("Pool" not in t.__name__ for t in types)
    g = [type(m).__name__ for m in G][1:]  # after the Unflatten of z to (N, nz, 1, 1)
    assert g == ["ConvTranspose2d", "BatchNorm2d", "ReLU"] * 3 + ["ConvTranspose2d", "Tanh"]
    assert G[1].stride == (1, 1) and G[1].padding == (0, 0) and G[1].in_channels == 100
    assert [type(m).__name__ for m in D] == ["Conv2d", "LeakyReLU"] + ["Conv2d", "BatchNorm2d", "LeakyReLU"] * 2 + [
        "Conv2d", "Flatten"]
    assert {m.negative_slope for m in D if isinstance(m, nn.LeakyReLU)} == {0.2}
    assert [m.out_channels for m in G if isinstance(m, nn.ConvTranspose2d)] == [32, 16, 8, 1]
    assert [m.out_channels for m in D if isinstance(m, nn.Conv2d)] == [8, 16, 32, 1]


def test_weights_start_normal_0_002_batch_norm_scales_normal_1_002_biases_0():
    G, D = dcgan.dcgan_generator(100, 32, 3, 32, minigan.Generator(0)), dcgan.dcgan_discriminator(3, 32, 32)
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                w = m.weight.numpy()
                assert abs(w.mean()) < 4 * 0.02 / np.sqrt(w.size) and abs(w.std() / 0.02 - 1) < 0.1
            if isinstance(m, nn.BatchNorm2d):
                w = m.weight.numpy()
                assert abs(w.mean() - 1) < 4 * 0.02 / np.sqrt(w.size) and 0.01 < w.std() < 0.03
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)) and m.bias is not None:
                assert not m.bias.numpy().any()


def test_the_recipe_is_the_papers():
    c = TrainConfig.for_model("dcgan", "fashion-mnist")
    assert (c.optimizer, c.lr, c.betas, c.batch_size, c.noise, c.noise_dim, c.scale, c.loss) == (
        "adam", 2e-4, (0.5, 0.999), 128, "normal", 100, "tanh", "non-saturating")
    assert c.arch["image_size"] == 32 and TrainConfig.for_model("dcgan", "folder").arch["image_size"] == 64


@pytest.mark.parametrize("text", ["48", "4", "0"])
def test_an_image_size_that_is_not_a_power_of_two_from_8_is_refused(text):
    with pytest.raises(ValueError, match="power of two"):
        dcgan.image_size(text)


def test_28x28_images_are_padded_to_32_and_resized_to_64():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    padded = fit_size(x, 32, background=-1.0)
    np.testing.assert_array_equal(padded[:, :, 2:30, 2:30], x)
    assert padded.shape == (3, 1, 32, 32) and (padded[:, :, :2] == -1).all() and (padded[:, :, :, 30:] == -1).all()
    resized = fit_size(x, 64, background=-1.0)
    assert resized.shape == (3, 1, 64, 64) and abs(resized.mean() - x.mean()) < 0.01


def test_datasets_refuse_what_they_cannot_give(tmp_path):
    with pytest.raises(ValueError, match="1 channel"):
        get_dataset("fashion-mnist").shape_for(TrainConfig.for_model("dcgan", "fashion-mnist", arch={"channels": 3}))
    with pytest.raises(ValueError, match="--data-dir"):
        Trainer(TrainConfig.for_model("dcgan", "folder"), tmp_path)
    with pytest.raises(ValueError, match="trains on images"):
        TrainConfig.for_model("dcgan", "ring", steps=1, epochs=None)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return stripes(tmp_path_factory.mktemp("stripes"))


def test_a_tiny_dcgan_trains_every_parameter_gets_a_finite_gradient_and_d_loss_moves(folder, tmp_path):
    trainer = Trainer(tiny_config(folder, steps=30, log_every=1, lr=1e-3), tmp_path, quiet=True)
    trainer.train_step(log=False)
    for name, p in list(trainer.G.named_parameters()) + list(trainer.D.named_parameters()):
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all() and p.grad.numpy().any(), name
    trainer.fit()
    losses = [r["loss_d"] for r in trainer.records]
    assert np.isfinite(losses).all() and max(losses) - min(losses) > 0.1
    assert Image.open(tmp_path / "samples.png").mode == "RGB"


def test_a_resumed_dcgan_ends_with_the_same_weights(folder, tmp_path):
    config = tiny_config(folder)
    whole = Trainer(config, tmp_path / "whole", quiet=True).fit()
    Trainer(config, tmp_path / "broken", quiet=True).fit(until=3)
    resumed = Trainer(config, tmp_path / "broken", resume=True, quiet=True).fit()
    for part in ("G", "D"):
        expected, got = getattr(whole, part).state_dict(), getattr(resumed, part).state_dict()
        for key in expected:
            np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=f"{part}.{key}")
    assert resumed.opt_d.state_dict()["state"].keys() == whole.opt_d.state_dict()["state"].keys()


def test_minigan_train_dcgan_on_a_folder(folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "dcgan", "--dataset", "folder", "--data-dir", str(folder), "--image-size", "8",
                 "--channels", "1", "--ngf", "4", "--ndf", "4", "--noise-dim", "6", "--batch-size", "8",
                 "--steps", "3", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "dcgan" and config["arch"] == {"image_size": 8, "channels": 1, "ngf": 4, "ndf": 4}
    assert Image.open(out / "samples.png").mode == "L"
    assert int(minigan.load(out / "checkpoint.npz")["step"]) == 3
