"""The trainer: run folder, bit-for-bit resume, checkpoint on signals, stop on NaN, EMA, config round trip."""
import json
import os
import re
import signal

import numpy as np
import pytest

import minigan
from minigan.files import FolderInUse
from minigan.gan import EMA, Interrupted, Run, TrainConfig, Trainer, TrainingDiverged
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
    again.close()
    with pytest.raises(ValueError, match="--seed 5 differs"):
        Trainer.start_or_resume(tiny_config(steps=6, seed=5), tmp_path)
    with pytest.raises(ValueError, match="at step 4, past the 3 steps asked for"):
        Trainer.start_or_resume(tiny_config(steps=3), tmp_path)
    assert TrainConfig.load(tmp_path / "config.json").steps == 6  # the accepted resume wrote it, the refused not


# ---- reliability: config.json, one writer, metrics.jsonl, non-finite values ------------------------------------------

BAD_CONFIGS = {  # config.json's text (a valid config, changed): what the error says after the file's name
    "not JSON": (lambda text: text[:-20], "not a minigan config"),
    "not text": (lambda text: "\x00\xff\xfe".encode("latin-1").decode("latin-1") + text, "not a minigan config"),
    "a JSON list": (lambda text: "[1, 2]", "a JSON list, not an object of settings"),
    "lr a string": (lambda text: text.replace('"lr": 0.002', '"lr": "fast"'), "lr must be a finite number, got 'fast'"),
    "lr NaN": (lambda text: text.replace('"lr": 0.002', '"lr": NaN'), "lr must be a finite number, got nan"),
    "steps a float": (lambda text: text.replace('"steps": 8', '"steps": 8.5'), "steps must be an integer or None"),
    "seed a bool": (lambda text: text.replace('"seed": 0', '"seed": true'), "seed must be an integer, got True"),
    "betas one number": (lambda text: text.replace('"betas": [\n    0.0,\n    0.99\n  ]', '"betas": [0.5]'),
                         r"betas must be two numbers, got \[0.5\]"),
    "arch a number": (lambda text: text[:text.index('"arch"')] + '"arch": 5}', "arch must be a JSON object"),
    "arch of another model": (lambda text: text.replace('"pieces": 2', '"ngf": 2'), r"arch holds \['ngf'\]"),
    "arch value the flag refuses": (lambda text: text.replace('"pieces": 2', '"pieces": 2.5'),
                                    "arch\\['pieces'\\] must be a value that --pieces takes, got 2.5"),
    "unknown setting": (lambda text: text.replace('"seed": 0', '"sed": 0'), r"unknown settings \['sed'\]"),
}


@pytest.mark.parametrize("kind", list(BAD_CONFIGS))
def test_a_bad_config_json_is_refused_naming_the_file_and_the_setting(tmp_path, kind):
    path, (change, message) = tmp_path / "config.json", BAD_CONFIGS[kind]
    tiny_config().save(path)
    path.write_bytes(change(path.read_text()).encode("latin-1"))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + message):
        TrainConfig.load(path)


def test_a_config_json_that_contradicts_the_checkpoint_is_refused(tmp_path):
    Trainer(tiny_config(steps=4), tmp_path, quiet=True).fit()
    path = tmp_path / "config.json"
    edited = json.loads(path.read_text())
    edited.update(noise="uniform", seed=3)
    path.write_text(json.dumps(edited))
    message = (r"checkpoint.npz was trained with noise='normal', seed=0, but .*config.json has noise='uniform', "
               r"seed=3: refused")
    with pytest.raises(ValueError, match=message):
        Run(tmp_path)
    with pytest.raises(ValueError, match=message.replace(".*config.json", "this run's config")):
        Trainer(TrainConfig.load(path), tmp_path, resume=True, quiet=True)
    assert json.loads(path.read_text()) == edited  # the refused resume wrote nothing
    assert Trainer(tiny_config(steps=6, log_every=3), tmp_path, resume=True, quiet=True).fit().step == 6  # may change


def test_a_run_folder_has_one_trainer_at_a_time(tmp_path):
    first = Trainer(tiny_config(), tmp_path, quiet=True)
    with pytest.raises(FolderInUse, match=re.escape(str(tmp_path)) + f" is in use by process {os.getpid()}"):
        Trainer(tiny_config(seed=1), tmp_path, quiet=True)
    assert TrainConfig.load(tmp_path / "config.json").seed == 0  # the refused one wrote nothing
    first.fit()
    assert not (tmp_path / ".lock").exists()  # released when fit ends
    Trainer(tiny_config(steps=10), tmp_path, resume=True, quiet=True).fit()


def test_the_lock_is_released_when_a_run_fails(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(), tmp_path, quiet=True)
    monkeypatch.setattr(trainer, "train_step", lambda log: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        trainer.fit()
    Trainer(tiny_config(), tmp_path, quiet=True).fit()  # free again
    with pytest.raises(ValueError, match="trained with"):  # a refused resume lets go of the folder too
        Trainer(tiny_config(seed=6), tmp_path, resume=True, quiet=True)
    Trainer(tiny_config(), tmp_path, resume=True, quiet=True)


def metrics_steps(folder):
    return [json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_fresh_start_drops_the_metrics_of_a_run_that_reached_no_checkpoint(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in (2, 4, 6)))
    Trainer(tiny_config(steps=4), tmp_path, quiet=True).fit()
    assert metrics_steps(tmp_path) == [2, 4]


def test_a_resume_drops_a_torn_last_line_and_names_a_corrupt_one(tmp_path):
    Trainer(tiny_config(steps=4, checkpoint_every=4), tmp_path, quiet=True).fit()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "loss_d": 0.6')  # a kill in the middle of a line
    Trainer(tiny_config(steps=8), tmp_path, resume=True, quiet=True).fit()
    assert metrics_steps(tmp_path) == [2, 4, 6, 8]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text("\n".join([lines[0], "garbage", *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "metrics.jsonl")) + ", line 2: not a metrics record"):
        Trainer(tiny_config(steps=10), tmp_path, resume=True, quiet=True)


def test_a_start_removes_what_killed_checkpoint_writes_left(tmp_path):
    Trainer(tiny_config(steps=4), tmp_path, quiet=True).fit()
    debris = tmp_path / ".checkpoint.npz.0badf00d.tmp"
    debris.write_bytes(b"PK\x03\x04 half")
    Trainer(tiny_config(steps=6), tmp_path, resume=True, quiet=True)
    assert not debris.exists()


def poison_after(trainer, step, poison):
    """Run ``poison(trainer)`` once, after step ``step``'s update (inside train_step, as a bad update would)."""
    train_step = trainer.train_step

    def step_then_poison(log):
        record = train_step(log)
        if trainer.step + 1 == step:
            poison(trainer)
        return record
    trainer.train_step = step_then_poison


def set_first(state_key):
    def poison(trainer):
        state = next(iter(trainer.opt_d.state.values()))
        state[state_key][...] = np.inf
    return poison


@pytest.mark.parametrize("poison, message", [
    (set_first("exp_avg_sq"), r"step 6: opt_d/state/0/exp_avg_sq holds a NaN or an infinity"),
    (lambda t: t.G[0].weight.data.__setitem__((0, 0), np.nan), "step 6: the discriminator loss became nan"),
    (lambda t: next(iter(t.ema.module.parameters())).data.__setitem__((0, 0), np.inf), "step 6: ema/weights/0.weight"),
])
def test_a_state_that_is_not_finite_stops_the_run_before_the_next_write(tmp_path, poison, message):
    trainer = Trainer(tiny_config(steps=20, checkpoint_every=4, log_every=3, ema=0.9), tmp_path, quiet=True)
    poison_after(trainer, 5, poison)
    good = []
    save = trainer.save_checkpoint
    trainer.save_checkpoint = lambda: (save(), good.append((tmp_path / "checkpoint.npz").read_bytes()))
    with pytest.raises(TrainingDiverged, match=message):
        trainer.fit()
    assert len(good) == 1 and (tmp_path / "checkpoint.npz").read_bytes() == good[0]  # step 4's, untouched
    assert metrics_steps(tmp_path) == [3]


@pytest.mark.filterwarnings("ignore:overflow|invalid value:RuntimeWarning")
def test_the_ring_at_lr_100_stops_with_every_written_number_finite(tmp_path):
    """The issue's case: Adam at lr 100 on the ring drove grad_norm_d to inf and exp_avg_sq to inf in the checkpoint."""
    ring = TrainConfig.for_model("mlp-gan", "ring", steps=100, batch_size=64, lr=100.0, log_every=3,
                                 checkpoint_every=3)
    with pytest.raises(TrainingDiverged, match="step ([0-9]+): ") as stopped:
        Trainer(ring, tmp_path, quiet=True).fit()
    state = minigan.load(tmp_path / "checkpoint.npz")
    assert 3 <= state["step"] < int(re.search("step ([0-9]+)", str(stopped.value))[1])
    assert all(np.isfinite(a).all() for _, a in trainer_module.float_arrays(state))
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        assert all(np.isfinite(v) for v in json.loads(line).values())  # and no "Infinity" literal, which is not JSON


def test_steps_that_neither_log_nor_write_read_nothing_back_from_the_device(tmp_path, monkeypatch):
    """The non-finite watch stays on the device: values are read (Tensor.item, check_finite) only at log steps and
    before writes, so a GPU step has no host round trip for it."""
    calls = {"item": 0, "check_finite": 0}
    item, check = minigan.Tensor.item, Trainer.check_finite

    def counted(name, f):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return f(*args, **kwargs)
        return wrapper
    monkeypatch.setattr(minigan.Tensor, "item", counted("item", item))
    monkeypatch.setattr(Trainer, "check_finite", counted("check_finite", check))
    Trainer(tiny_config(steps=12, log_every=6, checkpoint_every=12, sample_every=100), tmp_path, quiet=True).fit()
    # logs at 6 and 12 (2 losses each); checks at 6, 12 (log), 12 (checkpoint), the final checkpoint and samples.png
    assert calls == {"item": 4, "check_finite": 5}


@pytest.mark.gpu
@pytest.mark.skipif(not minigan.backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_on_the_gpu_the_watch_stays_on_the_device_and_a_nan_still_stops_the_run(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(steps=20, checkpoint_every=4, device="cuda"), tmp_path, quiet=True)
    trainer.fit(until=3)
    assert all(minigan.backend.device_of(a) == "cuda" for pair in trainer.watch.first.values() for a in pair)
    loss = trainer_module.generator_loss
    monkeypatch.setattr(trainer_module, "generator_loss",
                        lambda logits, kind: loss(logits, kind) * (float("nan") if trainer.step >= 5 else 1.0))
    with pytest.raises(TrainingDiverged, match="step 6: the generator loss became nan"):
        trainer.fit()
    assert int(minigan.load(tmp_path / "checkpoint.npz")["step"]) == 4
