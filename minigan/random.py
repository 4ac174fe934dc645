"""Seeded random numbers. One Generator fixes every draw: init, noise, dropout, data order.

Numbers are drawn on the CPU by NumPy's PCG64 and then moved to the device, so
the same seed gives the same numbers on "cpu" and "cuda".
"""
import json

import numpy as np

from . import backend


class Generator:
    def __init__(self, seed=None):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.initial_seed = seed
        self.rng = np.random.default_rng(seed)
        return self

    def normal(self, shape, dtype=None, device="cpu", mean=0.0, std=1.0):
        x = self.rng.standard_normal(shape, dtype=_draw_dtype(dtype)) * std + mean
        return self._place(x, dtype, device)

    def uniform(self, shape, dtype=None, device="cpu", low=0.0, high=1.0):
        x = self.rng.random(shape, dtype=_draw_dtype(dtype)) * (high - low) + low
        return self._place(x, dtype, device)

    def bernoulli(self, shape, p, device="cpu"):
        """A boolean mask, True with probability ``p``."""
        return backend.to_device(self.rng.random(shape) < p, device)

    def permutation(self, n):
        return self.rng.permutation(n)

    def integers(self, low, high, shape=None):
        return self.rng.integers(low, high, shape)

    def get_state(self):
        """The state as a JSON string (it holds 128-bit integers), for checkpoints."""
        return json.dumps(self.rng.bit_generator.state)

    def set_state(self, state):
        self.rng.bit_generator.state = json.loads(state)

    @staticmethod
    def _place(x, dtype, device):
        dtype = backend.default_dtype if dtype is None else np.dtype(dtype)
        return backend.to_device(x.astype(dtype, copy=False), device)


def _draw_dtype(dtype):
    return np.float32 if (dtype is None and backend.default_dtype == np.float32) or dtype == np.float32 else np.float64


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator, which every random draw uses unless given another."""
    return default_generator.manual_seed(seed)
