"""Train a GAN of any registered family: Algorithm 1 of Goodfellow et al. 2014, with checkpoints.

    config = TrainConfig(model="mlp-gan", dataset="ring", steps=6000, pack=2, ema=0.999)
    Trainer(config, "runs/ring").fit()

One step is k discriminator updates on fresh real and generated batches, then one generator
update. A run folder holds config.json, metrics.jsonl, checkpoint.npz (written atomically
every ``checkpoint_every`` steps, at the end, and on SIGINT/SIGTERM), samples/ and losses.png.
One seed fixes everything: each random stream (init, data, noise, dropout) has its own
Generator seeded from it, and the checkpoint keeps their states, so a resumed run ends with
the same weights, bit for bit, as one that was never stopped.

One process at a time trains a run folder (``files.FolderLock``). A loss, a gradient norm or an
array of the state (weights, optimizer moments, EMA, batch-norm statistics) that is not finite
stops the run (TrainingDiverged) before anything more is written: the losses are watched on
their device every step, without a host round trip, and everything is read at log steps and
before every checkpoint or picture.
"""
import copy
import dataclasses
import json
import math
import os
import signal
import threading
import time
import types
import typing

import numpy as np
from tqdm import tqdm

from .. import backend, files, nn, optim, serialize
from ..backend import array_module, is_float
from ..creation import ones_like, zeros_like
from ..random import Generator
from ..tensor import Tensor, no_grad
from . import plots
from .datasets import get_dataset, to_pixels
from .family import get_family

STREAMS = ("init", "data", "noise", "dropout", "preview")
# What a resumed run may change: how long it goes on, how often it writes, where it runs and (but for a folder
# dataset, whose folder is the data) where its data files are. Everything else defines the run: a config.json
# that differs from its checkpoint's in anything else is refused.
RESUMABLE = ("steps", "epochs", "log_every", "checkpoint_every", "sample_every", "device", "data_dir")
CHOICES = {"optimizer": ("adam", "sgd"), "loss": ("non-saturating", "minimax"), "noise": ("uniform", "normal"),
           "scale": ("unit", "tanh"), "device": ("cpu", "cuda")}


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a run; config.json holds one, so the run can be repeated."""
    model: str = "mlp-gan"
    dataset: str = "ring"
    steps: int | None = None      # generator updates; None: ``epochs`` passes over the data
    epochs: int | None = None
    batch_size: int = 64
    k: int = 1                    # discriminator updates per generator update
    lr: float = 2e-4
    lr_d: float | None = None     # the discriminator's, when it differs from lr
    lr_decay: float = 1.0         # lr falls exponentially to lr * lr_decay at the last step
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.5, 0.999)   # Adam's
    momentum: float = 0.5         # SGD's
    loss: str = "non-saturating"  # G's: -log D(G(z)), or "minimax": log(1 - D(G(z)))
    pack: int = 1                 # PacGAN: D judges ``pack`` samples at once
    ema: float = 0.0              # decay of the moving average of G's weights used for sampling; 0: none
    noise: str = "normal"
    noise_dim: int = 100
    scale: str = "tanh"           # image pixels in [-1, 1] ("tanh") or [0, 1] ("unit")
    device: str = "cpu"
    seed: int = 0
    log_every: int = 100
    checkpoint_every: int = 1000
    sample_every: int = 1000
    data_dir: str | None = None
    arch: dict = dataclasses.field(default_factory=dict)  # the family's network sizes

    @classmethod
    def for_model(cls, model="mlp-gan", dataset=None, **settings):
        """The family's defaults for ``dataset`` (default: the family's own), then ``settings`` (``arch`` merged
        key by key; a length given as steps or epochs replaces the default one)."""
        dataset = dataset or get_family(model).default_dataset
        defaults = get_family(model).defaults(dataset)
        if settings.get("steps") or settings.get("epochs"):
            defaults = {k: v for k, v in defaults.items() if k not in ("steps", "epochs")}
        arch = {**defaults.pop("arch", {}), **settings.pop("arch", {})}
        return cls(model=model, dataset=dataset, **{**defaults, **settings}, arch=arch).validate()

    @classmethod
    def load(cls, path):
        """The config saved at ``path``; ValueError naming the file (and the setting) if it is not one."""
        try:
            with open(path) as f:
                fields = json.load(f)
        except ValueError as e:  # not JSON, or not text
            raise ValueError(f"{path}: not a minigan config ({e})") from e
        if not isinstance(fields, dict):
            raise ValueError(f"{path}: not a minigan config (a JSON {type(fields).__name__}, not an object of "
                             "settings)")
        unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        try:
            return cls(**fields).validate()
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e

    def resumed(self, **changes):
        """This (saved) run's config with ``changes`` to continue it: a length given as steps or epochs replaces
        the other; a change to anything but RESUMABLE raises ValueError naming the setting and both values."""
        if "steps" in changes or "epochs" in changes:
            changes = {"steps": None, "epochs": None, **changes}
        arch = {**self.arch, **changes.pop("arch", {})}
        resumable = [name for name in RESUMABLE if not (name == "data_dir" and self.dataset == "folder")]
        for name, old, new in [(n, getattr(self, n), v) for n, v in changes.items()] + \
                [(n, self.arch.get(n), v) for n, v in arch.items()]:
            if name not in resumable and as_flag(old) != as_flag(new):
                raise ValueError(f"{flag(name)} {as_flag(new)} differs from the run's {as_flag(old)}; a resumed run "
                                 f"can change only {', '.join(map(flag, resumable))}")
        return dataclasses.replace(self, **changes, arch=arch).validate()

    def save(self, path):
        with files.atomic_write(path, "w") as f:
            json.dump(dataclasses.asdict(self), f, indent=2)

    def validate(self):
        """This config, if every setting has its type and a value that fits; else ValueError naming the setting."""
        for field in dataclasses.fields(self):
            if not has_type(getattr(self, field.name), field.type):
                raise ValueError(f"{field.name} must be {describe(field.type)}, got {getattr(self, field.name)!r}")
        self.betas = tuple(self.betas)  # JSON's list
        check_arch(get_family(self.model), self.arch)
        get_dataset(self.dataset)
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(f"give exactly one of steps and epochs (got steps={self.steps}, epochs={self.epochs})")
        for name in ("steps", "epochs", "batch_size", "k", "pack", "noise_dim", "log_every", "checkpoint_every",
                     "sample_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.epochs is not None and get_dataset(self.dataset).kind == "points":
            raise ValueError(f"{self.dataset} is drawn afresh at every step and has no epochs: give steps")
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size {self.batch_size} is not a multiple of pack {self.pack}")
        if not (0 <= self.ema < 1 and 0 < self.lr_decay <= 1 and self.lr > 0):
            raise ValueError(f"need 0 <= ema < 1, 0 < lr_decay <= 1 and lr > 0, got ema={self.ema}, "
                             f"lr_decay={self.lr_decay}, lr={self.lr}")
        return self

    def contradictions(self, trained):
        """The settings (other than RESUMABLE ones) in which this config differs from ``trained``, the JSON text of
        the config a checkpoint was trained with: {name: (trained value, this value)}."""
        trained, mine = json.loads(trained), json.loads(json.dumps(dataclasses.asdict(self)))
        return {k: (trained.get(k), v) for k, v in mine.items() if k not in RESUMABLE and trained.get(k) != v}


def has_type(value, annotation):
    """Whether ``value`` is of a TrainConfig field's type: int, float (an int too; finite), str, dict, a pair of
    floats, or one of these or None."""
    return any(_is(value, t) for t in _options(annotation))


def _options(annotation):
    """The types of ``int | None`` and the like; a type alone."""
    return typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)


def _is(value, t):
    if typing.get_origin(t) is tuple:
        args = typing.get_args(t)
        return type(value) in (tuple, list) and len(value) == len(args) and all(map(_is, value, args))
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return type(value) is t  # a bool is not an int here


def describe(annotation):
    names = {int: "an integer", float: "a finite number", str: "a string", dict: "a JSON object (a dict)",
             type(None): "None (null)"}
    return " or ".join(names.get(t, "two numbers") for t in _options(annotation))


def check_arch(family, arch):
    """ValueError unless each of ``arch``'s keys is an option of ``family`` with a value its command-line flag
    would give (or None: the default)."""
    unknown = sorted(set(arch) - set(family.options))
    if unknown:
        raise ValueError(f"arch holds {unknown}, which {family.name} does not take (it takes "
                         f"{sorted(family.options)})")
    for key, value in arch.items():
        convert, _ = family.options[key]
        sequence = type(value) in (list, tuple)
        try:
            fits = value is None or convert(",".join(map(str, value)) if sequence else str(value)) == (
                list(value) if sequence else value)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"arch[{key!r}] must be a value that --{key.replace('_', '-')} takes, got {value!r}")


def flag(name):
    """A setting's name as the command line has it: --noise-dim for noise_dim (the model is no flag)."""
    return "the model" if name == "model" else "--" + name.replace("_", "-")


def as_flag(value):
    """A setting as it is typed after its flag: 0.5,0.999 for a pair, 64,64 for layer sizes."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


class TrainingDiverged(RuntimeError):
    """A loss, a gradient norm or the state became NaN or infinite; the last good checkpoint is left as it was."""


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped the run after a checkpoint was written."""

    def __init__(self, signum, step, path):
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint saved to {path}")
        self.signum, self.step, self.path = signum, step, path


class EMA:
    """A moving average of a module's weights (Polyak averaging), used to draw samples:
    w_avg <- d w_avg + (1 - d) w, with d = min(decay, (1 + t) / (10 + t)) after t updates.
    Buffers (batch norm's running statistics) are copied as they are."""

    def __init__(self, module, decay):
        self.module, self.decay, self.updates = copy.deepcopy(module), decay, 0

    def update(self, module):
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, p in zip(self.module.parameters(), module.parameters()):
            average.data *= d
            average.data += (1 - d) * p.data
        for copied, b in zip(self.module.buffers(), module.buffers()):
            copied.data[...] = b.data

    def state_dict(self):
        return {"updates": self.updates, "weights": self.module.state_dict()}

    def load_state_dict(self, state):
        self.updates = int(state["updates"])
        self.module.load_state_dict(state["weights"])


def make_optimizer(config, params, lr):
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=lr, momentum=config.momentum)
    return optim.Adam(params, lr=lr, betas=config.betas)


def discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))), each a mean over the batch."""
    bce = nn.functional.binary_cross_entropy_with_logits
    return bce(real_logits, ones_like(real_logits)) + bce(fake_logits, zeros_like(fake_logits))


def generator_loss(fake_logits, kind):
    """Non-saturating: -log D(G(z)); minimax: log(1 - D(G(z))) (what D's loss has, negated)."""
    bce = nn.functional.binary_cross_entropy_with_logits
    if kind == "minimax":
        return -bce(fake_logits, zeros_like(fake_logits))
    return bce(fake_logits, ones_like(fake_logits))


class Trainer:
    def __init__(self, config, run_dir, resume=False, quiet=False):
        self.config, self.dir, self.quiet = config.validate(), os.fspath(run_dir), quiet
        backend.keep_freed_memory()  # reuse NumPy's freed memory, as CuPy's pool does (the CLI sets it too)
        self.family, self.dataset = get_family(config.model), get_dataset(config.dataset)
        self.rng = {name: Generator([config.seed, i]) for i, name in enumerate(STREAMS)}
        self.data = self.dataset.stream(config, self.rng["data"])
        self.total_steps = config.steps or config.epochs * self.data.steps_per_epoch
        G, D = self.family.build(config, self.dataset.shape, self.rng["init"], self.rng["dropout"])
        self.G, self.D = G.to(config.device), D.to(config.device)
        self.opt_g = make_optimizer(config, self.G.parameters(), config.lr)
        self.opt_d = make_optimizer(config, self.D.parameters(), config.lr_d or config.lr)
        self.ema = EMA(self.G, config.ema) if config.ema else None
        self.fixed_noise = self.noise(self.dataset.preview, self.rng["preview"])
        self.step, self.records, self.watch = 0, [], FiniteWatch()
        os.makedirs(os.path.join(self.dir, "samples"), exist_ok=True)
        self.lock = files.FolderLock(self.dir)  # FolderInUse while another process trains this run
        try:
            self.open_run(resume)
        except BaseException:
            self.lock.release()
            raise

    def open_run(self, resume):
        """Take over the folder: what killed writers left is removed, the checkpoint loaded (``resume``) or the
        metrics of a run that never reached a checkpoint dropped, then config.json written."""
        files.remove_stale_temporaries(self.path("checkpoint.npz"))
        if resume:
            self.load_checkpoint()
            if self.step > self.total_steps:
                raise ValueError(f"{self.dir} is at step {self.step}, past the {self.total_steps} steps asked for: "
                                 f"to go on, ask for more steps (or epochs)")
        elif os.path.exists(self.path("metrics.jsonl")):
            os.remove(self.path("metrics.jsonl"))
        self.config.save(self.path("config.json"))

    @classmethod
    def start_or_resume(cls, config, run_dir, quiet=False):
        """A Trainer for ``config`` in ``run_dir``, or, when a run there has a checkpoint, for that run continued
        with ``config``'s steps or epochs (TrainConfig.resumed: nothing else that defines it may differ)."""
        if not os.path.exists(os.path.join(run_dir, "checkpoint.npz")):
            return cls(config, run_dir, quiet=quiet)
        saved = TrainConfig.load(os.path.join(run_dir, "config.json"))
        return cls(saved.resumed(**dataclasses.asdict(config)), run_dir, resume=True, quiet=quiet)

    def path(self, name):
        return os.path.join(self.dir, name)

    def noise(self, n, generator=None):
        return self.family.sample_noise(self.config, n, generator or self.rng["noise"], self.config.device)

    def pack(self, x):
        """PacGAN: m samples side by side along axis 1, (B, C, ...) -> (B/m, m*C, ...)."""
        m = self.config.pack
        return x if m == 1 else x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    def sampler(self):
        """The generator that draws the pictures and the samples: the EMA one, if any."""
        return self.ema.module if self.ema else self.G

    # ---- one step of Algorithm 1 --------------------------------------------------------------------------

    def set_lr(self):
        """Exponential decay from lr to lr * lr_decay over the run."""
        factor = self.config.lr_decay ** (self.step / self.total_steps)
        for opt, lr in ((self.opt_g, self.config.lr), (self.opt_d, self.config.lr_d or self.config.lr)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def train_step(self, log):
        """One step of Algorithm 1: k updates of D, then one of G; the numbers of metrics.jsonl when ``log``."""
        # (1) Update D: maximise log D(x) + log(1 - D(G(z))), k times, each on a fresh real and generated batch
        for _ in range(self.config.k):
            record_d = self.update_discriminator(log)
        # (2) Update G: maximise log D(G(z)) (non-saturating), or minimise log(1 - D(G(z))) (minimax)
        record_g = self.update_generator(log)
        if self.ema:
            self.ema.update(self.G)
        return {**record_d, **record_g} if log else None

    def update_discriminator(self, log):
        """One Adam (or SGD) step of D; its numbers for metrics.jsonl when ``log``, else {}."""
        real = self.data.next()
        with no_grad():
            fake = self.G(self.noise(self.config.batch_size))
        real_logits, fake_logits = self.D(self.pack(real)), self.D(self.pack(fake))
        loss_d = discriminator_loss(real_logits, fake_logits)
        self.watch.see("discriminator loss", loss_d.data, self.step + 1)
        self.opt_d.zero_grad()
        loss_d.backward()
        record = {"loss_d": loss_d.item(), "d_real": mean_sigmoid(real_logits), "d_fake": mean_sigmoid(fake_logits),
                  "grad_norm_d": grad_norm(self.D.parameters())} if log else {}
        self.opt_d.step()
        return record

    def update_generator(self, log):
        """One step of G through D, whose weights need no gradient meanwhile; its numbers when ``log``, else {}."""
        with frozen(self.D):
            loss_g = generator_loss(self.D(self.pack(self.G(self.noise(self.config.batch_size)))), self.config.loss)
        self.opt_g.zero_grad()
        loss_g.backward()
        record = {"loss_g": loss_g.item(), "grad_norm_g": grad_norm(self.G.parameters())} if log else {}
        self.watch.see("generator loss", loss_g.data, self.step + 1)
        self.opt_g.step()
        return record

    def close(self):
        """Let the run folder go without training (``fit`` lets it go when it ends)."""
        self.lock.release()

    # ---- the loop -------------------------------------------------------------------------------------------

    def fit(self, until=None):
        """Train to step ``until`` (default: the last), checkpoint, and at the last step draw the final pictures.

        Raises Interrupted after SIGINT/SIGTERM (checkpoint written) and TrainingDiverged when a loss, a gradient
        norm or the state is not finite (nothing more written, the last checkpoint stays). The folder's lock is
        released at the end."""
        self.lock.acquire()
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # check_finite reports NaN and inf
                self.train_until(min(until or self.total_steps, self.total_steps))
        finally:
            self.lock.release()
        return self

    def train_until(self, until):
        c, clock = self.config, Timer(self.step)
        bar = tqdm(total=until, initial=self.step, disable=self.quiet, unit="step", dynamic_ncols=True)
        with bar, StopFlag() as stop:
            while self.step < until and not stop.signum:
                self.set_lr()
                record = self.train_step(log=(self.step + 1) % c.log_every == 0)
                self.step += 1
                bar.update(1)
                if record:
                    self.check_finite(record)
                    self.log(record, clock, bar)
                if self.step % c.checkpoint_every == 0:
                    self.save_checkpoint()
                if self.step % c.sample_every == 0:
                    self.save_samples(os.path.join("samples", f"step-{self.step:06d}.png"))
        self.save_checkpoint()
        if stop.signum:
            raise Interrupted(stop.signum, self.step, self.path("checkpoint.npz"))
        if self.step == self.total_steps:
            self.save_samples("samples.png")
            plots.loss_curves(self.records, self.path("losses.png"))

    def check_finite(self, record=None):
        """TrainingDiverged unless every loss since the last check, the numbers of ``record`` and every float array
        of the state are finite; the state's arrays are reduced on their device and read at once."""
        self.watch.check()
        for key, value in (record or {}).items():
            if not math.isfinite(value):
                raise TrainingDiverged(f"step {self.step}: {key} became {value}")
        arrays = dict(float_arrays(self.state_dict()))
        xp = array_module(next(iter(arrays.values())))
        if not bool(xp.stack([xp.isfinite(a).all() for a in arrays.values()]).all()):
            bad = next(name for name, a in arrays.items() if not bool(xp.isfinite(a).all()))
            raise TrainingDiverged(f"step {self.step}: {bad} holds a NaN or an infinity")

    def log(self, record, clock, bar):
        record = {"step": self.step, **record, "lr": self.opt_g.param_groups[0]["lr"],
                  "steps_per_s": clock.rate(self.step)}
        self.records.append(record)
        with open(self.path("metrics.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                        d_real=f"{record['d_real']:.2f}", d_fake=f"{record['d_fake']:.2f}")

    def save_samples(self, name):
        self.check_finite()
        G = self.sampler()
        G.eval()
        with no_grad():
            samples = G(self.fixed_noise).numpy()
        G.train()
        if self.dataset.kind == "images":
            samples = to_pixels(samples, self.config.scale)
        self.dataset.save_samples(samples, self.path(name), f"{self.config.dataset}, step {self.step}")

    # ---- checkpoints ----------------------------------------------------------------------------------------

    def state_dict(self):
        return {"step": self.step, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": {name: g.get_state() for name, g in self.rng.items()}, "data": self.data.state_dict(),
                "ema": self.ema.state_dict() if self.ema else None,
                "config": json.dumps(dataclasses.asdict(self.config))}

    def save_checkpoint(self):
        self.check_finite()
        serialize.save(self.state_dict(), self.path("checkpoint.npz"))

    def load_checkpoint(self):
        path = self.path("checkpoint.npz")
        if not os.path.exists(path):
            raise FileNotFoundError(f"cannot resume: {path} does not exist")
        state = serialize.load(path, self.config.device)
        refuse_contradictions(self.config, state, path, "this run's config")
        self.step = int(state["step"])
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for name, g in self.rng.items():
            g.set_state(state["rng"][name])
        self.data.load_state_dict(state["data"])
        if self.ema:
            self.ema.load_state_dict(state["ema"])
        self.records = read_metrics(self.path("metrics.jsonl"), self.step)


def refuse_contradictions(config, state, checkpoint, source):
    """ValueError if ``config`` contradicts the config that checkpoint ``state`` (read from ``checkpoint``) was trained
    with; ``source`` names where ``config`` came from. Checkpoints written before they kept their config pass."""
    if "config" not in state:
        return
    differences = config.contradictions(state["config"])
    if differences:
        trained, given = (", ".join(f"{k}={pair[i]!r}" for k, pair in differences.items()) for i in (0, 1))
        raise ValueError(f"{checkpoint} was trained with {trained}, but {source} has {given}: refused (of a run's "
                         f"settings only {', '.join(RESUMABLE)} may change)")


def read_metrics(path, last_step):
    """The records of metrics.jsonl up to ``last_step``; the file is cut back to them, atomically (a resumed run's
    steps after its checkpoint are trained again). A last line cut short by a kill is dropped."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().split("\n")
    records = []
    for number, line in enumerate(lines[:-1], 1):  # the text after the last newline is a torn write, or nothing
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not (isinstance(record, dict) and type(record.get("step")) is int):
            raise ValueError(f"{path}, line {number}: not a metrics record: {line[:60]!r}")
        records.append(record)
    records = [r for r in records if r["step"] <= last_step]
    with files.atomic_write(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    return records


class Timer:
    """Steps per second since the last call."""

    def __init__(self, step):
        self.step, self.time = step, time.perf_counter()

    def rate(self, step):
        now = time.perf_counter()
        rate = (step - self.step) / max(now - self.time, 1e-9)
        self.step, self.time = step, now
        return rate


class frozen:
    """Inside ``with frozen(module)`` its parameters need no gradient."""

    def __init__(self, module):
        self.params = list(module.parameters())

    def __enter__(self):
        for p in self.params:
            p.requires_grad = False

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad = True


def grad_norm(params):
    """sqrt(sum of squared gradients) over ``params``."""
    return math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in params if p.grad is not None))


def mean_sigmoid(logits):
    """The mean of D's output probabilities sigma(logits)."""
    return float((1 / (1 + np.exp(-logits.numpy().astype(np.float64)))).mean())


class FiniteWatch:
    """The first step at which each watched value was not finite, and that value, kept as 0-d arrays on the values'
    device: ``see`` adds no host round trip to a step, ``check`` reads them (TrainingDiverged)."""

    def __init__(self):
        self.first = {}  # name -> (step, value); step 0: always finite so far

    def see(self, name, value, step):
        xp = array_module(value)
        first_step, first_value = self.first.get(name) or (xp.zeros((), np.int64), xp.zeros((), value.dtype))
        new = (first_step == 0) & ~xp.isfinite(value)
        self.first[name] = (xp.where(new, step, first_step), xp.where(new, value, first_value))

    def check(self):
        """TrainingDiverged naming the value that stopped being finite first, if any did."""
        bad = [(int(step), name, float(value)) for name, (step, value) in self.first.items() if int(step)]
        if bad:
            step, name, value = min(bad)
            raise TrainingDiverged(f"step {step}: the {name} became {value}")


def float_arrays(tree, prefix=""):
    """(path, array) for every floating-point array in a nested state dict, paths like "opt_d/state/0/exp_avg"."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from float_arrays(value, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from float_arrays(value, f"{prefix}/{i}")
    else:
        array = tree.data if isinstance(tree, Tensor) else tree
        if hasattr(array, "dtype") and is_float(array.dtype):
            yield prefix, array


class StopFlag:
    """Inside ``with StopFlag() as stop``, SIGINT and SIGTERM only set ``stop.signum``, so the loop can
    checkpoint and exit at the end of a step; the previous handlers come back afterwards."""
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum, self.previous = None, {}

    def handle(self, signum, frame):
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only there can handlers be set
            self.previous = {s: signal.signal(s, self.handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
