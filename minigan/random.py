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
        """Restart from ``seed``: None (fresh entropy), an int >= 0, or a sequence of them."""
        try:
            self.rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as e:
            raise type(e)(f"Generator: seed must be None, an int >= 0 or a sequence of them, got {seed!r}") from None
        self.initial_seed = seed
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
        """Continue from ``state``, a string that get_state() returned; ValueError (and no change) if it is not one."""
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = json.loads(state)
        except (TypeError, ValueError, KeyError) as e:  # not a string, not JSON, not a PCG64 state
            raise ValueError(f"Generator.set_state: expected the string get_state() returns, got {state!r:.80} "
                             f"({type(e).__name__}: {e})") from None
        self.rng = rng

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
