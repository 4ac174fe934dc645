"""Proposition 1 of Goodfellow et al. 2014: for a fixed G, the best discriminator is
D*(x) = p_data(x) / (p_data(x) + p_g(x)), and when p_g = p_data, max_D V(D, G) = -log 4.

Here p_data is a 1-D mixture of two Gaussians and the "generator" is a Gaussian of known
density. A small discriminator trained on their samples is plotted against the formula.

    python examples/optimal_discriminator.py [--steps 300] [--out DIR]

Writes DIR/optimal_discriminator.png and prints the largest gap between D and D*. Seconds on a CPU.
"""
import argparse
import math
import os
import sys

import numpy as np

import minigan
from minigan import nn, optim
from minigan.cli import positive_int, run_program
from minigan.gan import plots
from minigan.gan.trainer import discriminator_loss

DATA = ((-1.0, 0.5, 0.5), (1.5, 0.5, 0.5))  # (mean, std, weight) of each component
GEN = ((0.0, 1.0, 1.0),)


def density(x, mixture):
    return sum(w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)) for m, s, w in mixture)


def sample(mixture, n, generator):
    """(n, 1) points of the mixture, as a Tensor."""
    means, stds, weights = (np.array(v, dtype=np.float32) for v in zip(*mixture))
    k = generator.rng.choice(len(mixture), size=n, p=weights / weights.sum())
    return minigan.tensor((means[k] + stds[k] * generator.normal((n,)))[:, None])


def train_discriminator(data, gen, steps=300, batch_size=1024, lr=1e-2, seed=0):
    """Minimise -log D(x) - log(1 - D(y)) over x ~ data, y ~ gen; D returns logits."""
    g = minigan.Generator(seed)
    D = nn.Sequential(nn.Linear(1, 64, generator=g), nn.Tanh(), nn.Linear(64, 64, generator=g), nn.Tanh(),
                      nn.Linear(64, 1, generator=g))
    opt = optim.Adam(D.parameters(), lr=lr)
    for step in range(steps):
        for group in opt.param_groups:  # lr decays to lr / 100, so D settles on its optimum
            group["lr"] = lr * 0.01 ** (step / steps)
        loss = discriminator_loss(D(sample(data, batch_size, g)), D(sample(gen, batch_size, g)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return D


def d_of(D, x):
    """D's probability at the points ``x`` (a 1-D NumPy array)."""
    with minigan.no_grad():
        return nn.functional.sigmoid(D(minigan.tensor(x.astype(np.float32)[:, None]))).numpy()[:, 0]


def value(D, data, gen, n=100_000, seed=1):
    """V(D, G) = E log D(x) + E log(1 - D(G(z))) on fresh samples, and its standard error."""
    g = minigan.Generator(seed)
    with minigan.no_grad():
        real = -nn.functional.softplus(-D(sample(data, n, g))).numpy()  # log sigmoid(l)
        fake = -nn.functional.softplus(D(sample(gen, n, g))).numpy()    # log(1 - sigmoid(l))
    return float(real.mean() + fake.mean()), float(math.sqrt((real.var() + fake.var()) / n))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=positive_int, default=300, help="D's training steps (default 300)")
    p.add_argument("--out", metavar="DIR", default="runs/optimal-discriminator", help="where the plot goes "
                   "(default runs/optimal-discriminator)")
    return p.parse_args(argv)


def main(args):
    D = train_discriminator(DATA, GEN, steps=args.steps)
    x = np.linspace(-3, 3, 301)
    p_data, p_g = density(x, DATA), density(x, GEN)
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "optimal_discriminator.png")
    plots.curves(x, {"learned D(x)": d_of(D, x), "D*(x) = p_data / (p_data + p_g)": p_data / (p_data + p_g),
                     "p_data": p_data, "p_g": p_g}, out, xlabel="x", title="the optimal discriminator")
    v, se = value(train_discriminator(DATA, DATA, steps=max(1, args.steps // 3)), DATA, DATA)
    inner = np.abs(x) <= 2  # where samples fall; in the far tails D is left free
    print(f"max |D - D*| on [-2, 2]: {np.abs(d_of(D, x) - p_data / (p_data + p_g))[inner].max():.3f}")
    print(f"p_g = p_data: max_D V(D, G) = {v:.5f} +- {se:.5f}, -log 4 = {-math.log(4):.5f}; plot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
