"""The trainer: run folder, bit-for-bit resume, checkpoint on signals, stop on NaN, EMA, config round trip."""
import json
import os
import signal

import numpy as np
import pytest

import minigan
from minigan.gan import EMA, Interrupted, TrainConfig, Trainer, TrainingDiverged
from minigan.gan import trainer as trainer_module

TINY = dict(g_hidden=[16], d_hidden=[8], pieces=2, dropout_in=0.2, dropout_hidden=0.5)


def tiny_config(**settings):
    settings = {"steps": 8, "batch_size": 16, "log_every": 2, "checkpoint_every": 4, "sample_every": 4,
                "noise_dim": 4, **settings}
    return TrainConfig.for_model("mlp-gan", settings.pop("dataset", "ring"), arch=TINY, **settings)


def arrays(tree, prefix=""):
    """Every array of a nested state dict, by path (the RNG states as strings)."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in arrays(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, (list, tuple)):
        return {k: v for i, sub in enumerate(tree) for k, v in arrays(sub, f"{prefix}/{i}").items()}
    return {prefix: tree.numpy() if isinstance(tree, minigan.Tensor) else tree}


def test_a_run_writes_every_file_of_its_folder(tmp_path):
    Trainer(tiny_config(), tmp_path, quiet=True).fit()
    names = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "samples.png", "losses.png",
            "samples/step-000004.png", "samples/step-000008.png"} <= names
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 8]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "steps_per_s", "lr"} <= set(
        records[0])
    assert TrainConfig.load(tmp_path / "config.json") == tiny_config()
    state = minigan.load(tmp_path / "checkpoint.npz")
    assert {"G", "D", "opt_g", "opt_d", "step", "rng", "data", "ema"} <= set(state) and state["step"] == 8


@pytest.mark.parametrize("settings", [dict(pack=2, ema=0.9, lr_decay=0.1, k=2), dict(optimizer="sgd", k=1)])
def test_a_resumed_run_ends_bit_for_bit_where_an_unbroken_one_does(tmp_path, settings):
    config = tiny_config(**settings)
    whole = Trainer(config, tmp_path / "whole", quiet=True).fit()
    Trainer(config, tmp_path / "broken", quiet=True).fit(until=3)  # stopped between checkpoints, as a signal does
    resumed = Trainer(config, tmp_path / "broken", resume=True, quiet=True)
    assert resumed.step == 3
    resumed.fit()
    expected, got = arrays(whole.state_dict()), arrays(resumed.state_dict())
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    lines = (tmp_path / "broken" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 4, 6, 8]


def test_a_signal_checkpoints_then_stops_and_restores_the_handlers(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(steps=100, checkpoint_every=1000), tmp_path, quiet=True)
    step = trainer.train_step

    def step_then_signal(log):
        if trainer.step == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` would, between two steps
        return step(log)
    monkeypatch.setattr(trainer, "train_step", step_then_signal)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as stopped:
        trainer.fit()
    assert stopped.value.signum == signal.SIGTERM and stopped.value.step == 6
    assert int(minigan.load(tmp_path / "checkpoint.npz")["step"]) == 6
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(steps=20, checkpoint_every=4), tmp_path, quiet=True)
    loss = trainer_module.generator_loss

    def nan_after_step_6(logits, kind):
        value = loss(logits, kind)
        return value * float("nan") if trainer.step >= 6 else value
    monkeypatch.setattr(trainer_module, "generator_loss", nan_after_step_6)
    with pytest.raises(TrainingDiverged, match="step 7: the generator loss became nan"):
        trainer.fit()
    state = minigan.load(tmp_path / "checkpoint.npz")
    assert int(state["step"]) == 4
    assert all(np.isfinite(a).all() for a in arrays(state["G"]).values())


@pytest.mark.filterwarnings("ignore:overflow|invalid value:RuntimeWarning")
def test_a_huge_learning_rate_is_caught(tmp_path):
    with pytest.raises(TrainingDiverged, match="became (nan|inf)"):
        Trainer(tiny_config(lr=1e30, optimizer="sgd", steps=50), tmp_path, quiet=True).fit()


def test_ema_averages_the_weights_with_a_warm_up_and_copies_the_buffers():
    net = minigan.nn.Sequential(minigan.nn.Linear(3, 2), minigan.nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.5)
    before = [p.data.copy() for p in ema.module.parameters()]
    for p in net.parameters():
        p.data += 1
    net(minigan.randn(8, 3))  # moves the running statistics
    ema.update(net)
    d = min(0.5, 2 / 11)
    for average, old, p in zip(ema.module.parameters(), before, net.parameters()):
        np.testing.assert_allclose(average.data, d * old + (1 - d) * p.data, rtol=1e-6)
    for copied, b in zip(ema.module.buffers(), net.buffers()):
        np.testing.assert_array_equal(copied.data, b.data)


@pytest.mark.parametrize("bad, message", [(dict(steps=-1), "steps must be a positive integer"),
                                          (dict(batch_size=15, pack=2), "not a multiple of pack"),
                                          (dict(loss="hinge"), "loss must be one of"),
                                          (dict(dataset="moons"), "unknown dataset 'moons'"),
                                          (dict(steps=None, epochs=2), "ring is drawn afresh .* no epochs")])
def test_bad_settings_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**bad)


def test_one_seed_fixes_the_run_and_another_changes_it(tmp_path):
    runs = [Trainer(tiny_config(seed=s, steps=3), tmp_path / str(i), quiet=True).fit()
            for i, s in enumerate((0, 0, 1))]
    weights = [arrays(r.G.state_dict()) for r in runs]
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_a_resumed_config_may_change_its_length_and_intervals_but_nothing_that_defines_the_run():
    config = tiny_config()
    longer = config.resumed(epochs=None, steps=20, log_every=1, checkpoint_every=5, sample_every=7, device="cpu",
                            data_dir="/elsewhere", arch=dict(TINY))
    assert (longer.steps, longer.log_every, longer.data_dir) == (20, 1, "/elsewhere") and longer.arch == TINY
    assert config.resumed(**{f: getattr(config, f) for f in ("seed", "pack", "betas")}) == config  # unchanged
    for change, message in [(dict(dataset="grid"), "--dataset grid differs from the run's ring"),
                            (dict(seed=1), "--seed 1 differs from the run's 0"),
                            (dict(betas=(0.5, 0.999)), "--betas 0.5,0.999 differs from the run's 0.0,0.99"),
                            (dict(arch={"g_hidden": [32, 32]}), "--g-hidden 32,32 differs from the run's 16"),
                            (dict(scale="unit"), "--scale unit differs"), (dict(noise="uniform"), "--noise")]:
        with pytest.raises(ValueError, match=message + ".*can change only --steps, --epochs"):
            config.resumed(**change)
    folder = TrainConfig.for_model("dcgan", "folder", data_dir="faces")
    with pytest.raises(ValueError, match="--data-dir other differs"):  # a folder dataset's folder is its data
        folder.resumed(data_dir="other")


def test_start_or_resume_continues_a_run_with_its_own_settings_and_refuses_other_ones(tmp_path):
    Trainer.start_or_resume(tiny_config(steps=4), tmp_path, quiet=True).fit()
    again = Trainer.start_or_resume(tiny_config(steps=6), tmp_path, quiet=True)
    assert (again.step, again.total_steps) == (4, 6)
    with pytest.raises(ValueError, match="--seed 5 differs"):
        Trainer.start_or_resume(tiny_config(steps=6, seed=5), tmp_path)
    with pytest.raises(ValueError, match="at step 4, past the 3 steps asked for"):
        Trainer.start_or_resume(tiny_config(steps=3), tmp_path)
    assert TrainConfig.load(tmp_path / "config.json").steps == 6  # the accepted resume wrote it, the refused not
