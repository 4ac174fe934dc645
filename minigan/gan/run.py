"""A finished (or interrupted) run folder: its settings, its latest generator, samples and metrics."""
import math
import os

import numpy as np

from .. import progress, serialize
from ..random import Generator
from ..tensor import no_grad
from .datasets import get_dataset, to_pixels
from .family import get_family
from .trainer import TrainConfig, refuse_contradictions


class RunError(ValueError):
    """A folder that is not a usable run (missing, no config.json, no checkpoint)."""


class Run:
    """``Run(path)``: G rebuilt from config.json and checkpoint.npz (its EMA weights when the run kept them)."""

    def __init__(self, path, device="cpu"):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise RunError(f"no run folder at {self.path}")
        config_path, checkpoint = (os.path.join(self.path, n) for n in ("config.json", "checkpoint.npz"))
        for f in (config_path, checkpoint):
            if not os.path.isfile(f):
                raise RunError(f"{self.path} is not a run folder: it has no {os.path.basename(f)}")
        self.config = TrainConfig.load(config_path)
        self.config.device = device
        self.family, self.dataset = get_family(self.config.model), get_dataset(self.config.dataset)
        state = serialize.load(checkpoint, device)
        refuse_contradictions(self.config, state, checkpoint, config_path)
        G, _ = self.family.build(self.config, self.dataset.shape, Generator(0), Generator(0))
        G.load_state_dict(state["ema"]["weights"] if state["ema"] else state["G"])
        self.G, self.step = G.to(device), int(state["step"])
        self.G.eval()

    def sample(self, n, seed=0, batch_size=1000):
        """``n`` samples as a NumPy array: points (n, 2), or images (n, C, H, W) in [-1, 1]."""
        generator = Generator(seed)
        with no_grad():
            batches = [self.G(self.family.sample_noise(self.config, min(batch_size, n - i), generator,
                                                       self.config.device)).numpy()
                       for i in progress.bar(range(0, n, batch_size), f"sampling {n:,}")]
        samples = np.concatenate(batches)
        return to_pixels(samples, self.config.scale) if self.dataset.kind == "images" else samples

    def evaluate(self, seed=0):
        """The family's metrics for this run, with the run's identity, as one JSON-ready dict: a metric that
        is infinite or NaN (reverse_kl when no sample is near a mode) is None, and "non_finite" says what it was."""
        result = {"run": self.path, "model": self.config.model, "dataset": self.config.dataset, "step": self.step,
                  **self.family.metrics(self, seed)}
        non_finite = {k: str(v) for k, v in result.items() if isinstance(v, float) and not math.isfinite(v)}
        return {**result, **dict.fromkeys(non_finite), **({"non_finite": non_finite} if non_finite else {})}
