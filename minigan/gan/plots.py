"""Pictures of a run: image grids (Pillow), and scatter and loss plots (matplotlib, optional).

matplotlib is imported only when a plot is asked for, with the Agg backend (no display);
without it those plots are skipped with one notice, and training goes on.
"""
import math
import sys

import numpy as np
from PIL import Image

from .. import backend

_warned = []


def image_grid(images, path, nrow=8, padding=2):
    """Save images (N, C, H, W) with values in [-1, 1] as one PNG, ``nrow`` to a row."""
    x = np.clip((backend.to_numpy(images) + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    n, c, h, w = x.shape
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    x = np.pad(x, ((0, rows * ncol - n), (0, 0), (padding, 0), (padding, 0)))  # each tile gets a top-left border
    h, w = h + padding, w + padding
    grid = x.reshape(rows, ncol, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, rows * h, ncol * w)  # c (r h) (q w)
    grid = np.pad(grid, ((0, 0), (0, padding), (0, padding)))
    Image.fromarray(grid[0] if c == 1 else grid.transpose(1, 2, 0)).save(path)


def _pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with one notice) when it is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        if not _warned:
            _warned.append(True)
            print("minigan: matplotlib is not installed; scatter and loss plots are skipped "
                  '(pip install "minigan[plots]")', file=sys.stderr)
        return None


def _save(fig, plt, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def scatter(samples, centers, path, title=""):
    """Save 2D ``samples`` (N, 2) over the mixture's ``centers`` (K, 2) as a PNG."""
    plt = _pyplot()
    if plt is None:
        return
    samples = backend.to_numpy(samples)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(samples[:, 0], samples[:, 1], s=4, alpha=0.4, label="generated")
    ax.scatter(centers[:, 0], centers[:, 1], s=60, marker="x", c="red", label="real modes")
    pad = 0.25 * np.ptp(centers) + 0.2
    ax.set_xlim(centers[:, 0].min() - pad, centers[:, 0].max() + pad)
    ax.set_ylim(centers[:, 1].min() - pad, centers[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, plt, path)


def loss_curves(records, path):
    """Save the losses and D's outputs of ``records`` (metrics.jsonl lines, as dicts) against the step."""
    plt = _pyplot()
    if plt is None or not records:
        return
    step = [r["step"] for r in records]
    fig, (losses, outputs) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        losses.plot(step, [r[key] for r in records], label=label)
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        outputs.plot(step, [r[key] for r in records], label=label)
    outputs.axhline(0.5, color="gray", lw=0.5)
    for ax, title in ((losses, "losses"), (outputs, "discriminator outputs")):
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.legend()
    _save(fig, plt, path)


def curves(x, ys, path, xlabel="", title=""):
    """Save line plots of ``ys`` ({label: values}) against ``x``, e.g. D*(x) against the formula."""
    plt = _pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, y in ys.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend()
    _save(fig, plt, path)
