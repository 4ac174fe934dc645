"""Walking G's latent space, Radford et al. 2015 section 6: interpolation, vector arithmetic, filters.

    run = Run("runs/dcgan")
    save_rows(interpolate(run, rows=8, steps=10, slerp=True), "walk.png")
    z = noise(run, 64, seed=0)                           # save_rows([generate(run, z)], ...) to pick from
    save_rows(vector_arithmetic(run, z, a=[3, 9], b=[1, 4], c=[7, 12]), "arithmetic.png")
    save_filters(run, "filters.png")

Every image here is a NumPy array (N, C, H, W) in [-1, 1]; G runs in eval mode, so each sample depends
on its own z only.
"""
import math
import os
import tempfile

import numpy as np
from PIL import Image

from .. import nn
from ..random import Generator
from ..tensor import Tensor, no_grad
from . import plots
from .datasets import to_pixels
from .dcgan import load_discriminator


def noise(run, n, seed=0):
    """``n`` noise vectors (n, noise_dim) of the run's distribution, as NumPy, drawn from ``seed``; ValueError
    for a run on 2D points, whose samples are no pictures to walk between."""
    if run.dataset.kind != "images":
        raise ValueError(f"{run.path} is a run on {run.config.dataset} ({run.dataset.kind}): latent walks and "
                         f"vector arithmetic are for runs on images")
    return run.family.sample_noise(run.config, n, Generator(seed), "cpu").numpy()


def generate(run, z, batch_size=500):
    """G(z) for z (N, noise_dim), as images in [-1, 1]."""
    with no_grad():
        images = np.concatenate([run.G(Tensor(z[i:i + batch_size]).to(run.config.device)).numpy()
                                 for i in range(0, len(z), batch_size)])
    return to_pixels(images, run.config.scale)


def lerp(z0, z1, t):
    """Points along the straight lines from z0 to z1 (R, D) at fractions t (S,): (R, S, D)."""
    return z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]


def slerp(z0, z1, t):
    """Spherical interpolation (Shoemake 1985) from z0 to z1 (R, D) at fractions t (S,): (R, S, D).

    z(t) = sin((1 - t) w) / sin w z0 + sin(t w) / sin w z1, w the angle between z0 and z1: the norm moves
    smoothly between |z0| and |z1| instead of sagging through the middle, where Gaussian noise never lies.
    """
    cos = (z0 * z1).sum(1) / (np.linalg.norm(z0, axis=1) * np.linalg.norm(z1, axis=1))
    w = np.arccos(np.clip(cos, -1.0, 1.0))[:, None, None]                              # r 1 1
    if np.any(np.sin(w) < 1e-6):
        raise ValueError("slerp: z0 and z1 are (anti)parallel; the great circle between them is not unique")
    t = t[None, :, None]                                                               # 1 s 1
    return (np.sin((1 - t) * w) * z0[:, None] + np.sin(t * w) * z1[:, None]) / np.sin(w)


def interpolate(run, rows=8, steps=10, seed=0, spherical=False):
    """Images (rows, steps, C, H, W): each row walks from G(z0) to G(z1), z0 and z1 drawn from ``seed``."""
    z = noise(run, 2 * rows, seed)
    path = (slerp if spherical else lerp)(z[:rows], z[rows:], np.linspace(0.0, 1.0, steps))
    images = generate(run, path.reshape(rows * steps, -1))
    return images.reshape(rows, steps, *images.shape[1:])


def vector_arithmetic(run, z, a, b, c, n_results=8, jitter=0.25, seed=0):
    """Figure 7: y = mean(z[a]) - mean(z[b]) + mean(z[c]), ``a``, ``b``, ``c`` lists of indices into z (N, D).

    Returns four rows of images: for a, b and c, their samples then G of their mean z; then G(y) and
    G(y + u) for ``n_results`` - 1 draws of u uniform on [-jitter, jitter]^D (the paper's 0.25)."""
    concepts = [np.asarray(z)[list(indices)] for indices in (a, b, c)]
    means = [zs.mean(0) for zs in concepts]
    y = means[0] - means[1] + means[2]
    u = Generator(seed).uniform((n_results - 1, len(y)), low=-jitter, high=jitter)
    rows = [generate(run, np.concatenate([zs, m[None]])) for zs, m in zip(concepts, means)]
    return rows + [generate(run, np.concatenate([y[None], y + u]))]


def save_rows(rows, path):
    """Save rows of images (a list of (n_i, C, H, W) arrays, or one (R, S, C, H, W) array) as one PNG grid,
    short rows filled with gray."""
    width = max(len(r) for r in rows)
    plots.image_grid(np.concatenate([gray_fill(r, width) for r in rows]), path, nrow=width)


def gray_fill(images, n):
    """``images`` (N, C, H, W), then gray ones (zeros) up to ``n`` in all."""
    return np.concatenate([images, np.zeros((n - len(images),) + images.shape[1:], images.dtype)])


def save_gif(rows, path, frame_ms=120):
    """An animated GIF of interpolation ``rows`` (R, S, C, H, W): frame s shows every row's image s, and
    the walk goes there and back."""
    frames = list(rows.transpose(1, 0, 2, 3, 4))
    frames += frames[-2:0:-1]
    with tempfile.TemporaryDirectory() as tmp:
        images = []
        for i, frame in enumerate(frames):  # each frame drawn as image_grid draws the PNG
            plots.image_grid(frame, os.path.join(tmp, f"{i}.png"), nrow=math.ceil(math.sqrt(len(frame))))
            with Image.open(os.path.join(tmp, f"{i}.png")) as im:
                images.append(im.convert("P") if im.mode == "RGB" else im.copy())
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)


def first_and_last_filters(run):
    """(D's first-layer filters (out, C, kh, kw), G's last-layer filters (in, C, kh, kw)) as NumPy arrays."""
    d = [m for m in load_discriminator(run).modules() if isinstance(m, nn.Conv2d)]
    g = [m for m in run.G.modules() if isinstance(m, nn.ConvTranspose2d)]
    if not (d and g):
        raise ValueError(f"{run.path}: a {run.config.model} run has no convolutions to show (train a dcgan)")
    w = g[-1].weight.numpy()
    return d[0].weight.numpy()[:, :w.shape[1]], w  # D's first C input channels: the first of packed samples


def save_filters(run, path, nrow=16, zoom=8):
    """One PNG: D's first-layer filters, a gray row, then G's last-layer filters, each filter scaled to fill
    [-1, 1] and enlarged ``zoom`` times."""
    filters = first_and_last_filters(run)
    nrow, blocks = min(nrow, max(len(w) for w in filters)), []
    for w in filters:
        w = w / (np.abs(w).max(axis=(1, 2, 3), keepdims=True) + 1e-12)
        blocks.append(gray_fill(w, len(w) + -len(w) % nrow))  # whole rows
    grid = np.concatenate([blocks[0], gray_fill(blocks[0][:0], nrow), blocks[1]])
    plots.image_grid(grid.repeat(zoom, axis=2).repeat(zoom, axis=3), path, nrow=nrow)
