"""The 2D Gaussian mixtures of the mode-collapse benchmarks (VEEGAN, PacGAN, Unrolled GAN).

``ring``: 8 Gaussians evenly spaced on the circle of radius 1, std 0.01.
``grid``: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05.
Samples are drawn on the fly from a seeded ``minigan.Generator``: pick a centre
uniformly, add isotropic noise. Evaluate with ``minigan.metrics.mode_stats``.
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..random import default_generator


@dataclass(frozen=True, eq=False)
class ToyMixture:
    """An equal-weight mixture of isotropic Gaussians N(centers[k], std^2 I) in 2D."""
    name: str
    centers: np.ndarray  # (K, 2) float32
    std: float

    def __post_init__(self):
        self.centers.setflags(write=False)

    def sample(self, n, generator=None, device="cpu"):
        """``n`` points as a float32 array (n, 2) on ``device``."""
        generator = generator or default_generator
        which = generator.integers(0, len(self.centers), n)                          # n
        noise = generator.normal((n, 2), dtype=np.float32, std=self.std)             # n 2
        return backend.to_device(self.centers[which] + noise, device)


def ring(n_modes=8, radius=1.0, std=0.01):
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return ToyMixture("ring", centers.astype(np.float32), std)


def grid(side=5, spacing=2.0, std=0.05):
    axis = spacing * (np.arange(side) - (side - 1) / 2)                              # -4 -2 0 2 4
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return ToyMixture("grid", centers.astype(np.float32), std)


MIXTURES = {"ring": ring, "grid": grid}


def get(name):
    """The benchmark mixture called ``name`` ("ring" or "grid")."""
    if name not in MIXTURES:
        raise ValueError(f"unknown toy dataset {name!r}; expected one of {sorted(MIXTURES)}")
    return MIXTURES[name]()
