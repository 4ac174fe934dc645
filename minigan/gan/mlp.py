"""The MLP GAN of Goodfellow et al. 2014 ("Generative Adversarial Nets").

Generator: noise z -> Linear-ReLU layers -> Linear, then a sigmoid for images in [0, 1]
(the paper's MNIST net: 100 -> 1200 -> 1200 -> 784) or nothing for 2D points.
Discriminator: dropout on the input, Maxout layers each followed by dropout (the paper:
240 units x 5 pieces, input dropout 0.2, hidden 0.5), then one logit.
"""
import math

from .. import nn
from .family import Family, positive, probability, register


def int_list(text):
    """"1200,1200" -> [1200, 1200] (for --g-hidden and --d-hidden)."""
    sizes = [int(s) for s in str(text).split(",") if s.strip()]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"expected comma-separated positive sizes, got {text!r}")
    return sizes


def mlp_generator(noise_dim, hidden, data_shape, output, generator=None):
    """noise (N, noise_dim) -> samples (N, *data_shape); ``output``: "sigmoid" or "linear".
    ``generator`` draws the initial weights."""
    layers, width = [], noise_dim
    for h in hidden:
        layers += [nn.Linear(width, h, generator=generator), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, math.prod(data_shape), generator=generator))
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    if len(data_shape) > 1:
        layers.append(nn.Unflatten(1, tuple(data_shape)))
    return nn.Sequential(*layers)


def maxout_discriminator(in_features, hidden, pieces, dropout_in, dropout_hidden, generator=None,
                         dropout_generator=None):
    """(N, in_features...) -> logits (N, 1): dropout on the input and after each Maxout layer, then a
    linear logit. ``generator`` draws the initial weights, ``dropout_generator`` the dropout masks."""
    layers, width = [nn.Flatten(), nn.Dropout(dropout_in, generator=dropout_generator)], in_features
    for h in hidden:
        layers += [nn.Maxout(width, h, pieces, generator=generator),
                   nn.Dropout(dropout_hidden, generator=dropout_generator)]
        width = h
    layers.append(nn.Linear(width, 1, generator=generator))
    return nn.Sequential(*layers)


class MLPGAN(Family):
    name = "mlp-gan"
    help = "the MLP GAN of Goodfellow et al. 2014: ReLU generator, Maxout discriminator with dropout"
    options = {
        "g_hidden": (int_list, "generator hidden layer sizes, e.g. 1200,1200"),
        "d_hidden": (int_list, "discriminator Maxout units per layer, e.g. 240,240"),
        "pieces": (positive, "linear pieces per Maxout unit"),
        "dropout_in": (probability, "dropout probability on the discriminator's input"),
        "dropout_hidden": (probability, "dropout probability after each Maxout layer"),
    }

    def defaults(self, dataset):
        if dataset in TOY_DEFAULTS:
            recipe, arch = TOY_DEFAULTS[dataset]
            return dict(recipe, arch=dict(arch))
        return dict(PAPER_DEFAULTS, arch=dict(PAPER_ARCH))

    def build(self, config, data_shape, generator, dropout_generator):
        a = config.arch
        output = "linear" if len(data_shape) == 1 else "sigmoid"
        G = mlp_generator(config.noise_dim, a["g_hidden"], data_shape, output, generator)
        D = maxout_discriminator(config.pack * math.prod(data_shape), a["d_hidden"], a["pieces"], a["dropout_in"],
                                 a["dropout_hidden"], generator, dropout_generator)
        return G, D


# The paper's MNIST recipe (Pylearn2's mnist.yaml): SGD with momentum 0.5, lr 0.1, batches of 100,
# uniform noise, pixels in [0, 1] under the generator's sigmoid.
PAPER_ARCH = dict(g_hidden=[1200, 1200], d_hidden=[240, 240], pieces=5, dropout_in=0.2, dropout_hidden=0.5)
PAPER_DEFAULTS = dict(optimizer="sgd", lr=0.1, momentum=0.5, batch_size=100, epochs=50, noise="uniform",
                      scale="unit", log_every=100, sample_every=3000, checkpoint_every=3000)

# 2D mixtures: Adam at lr 2e-3 decayed to 2e-4, batches of 512, PacGAN pairs and an EMA of G. Without the
# three remedies (pack 1, no EMA, constant lr; measured with the earlier 128-128 G on 100-D noise) the ring lost a
# mode: 7 of 8, reverse KL 0.57 against 0.002.
# What removes the samples on the arcs between modes (a perfect sampler of the ring: 98.9% within 3 std): a
# deeper G of 4 ReLU layers on 2-D noise, Adam without first-moment momentum (betas 0, 0.99) and enough steps.
# The ring's D is small so that `minigan train` takes about a minute. Measured in the README ("minigan train").
TOY_ARCH = dict(pieces=5, dropout_in=0.0, dropout_hidden=0.0)
TOY_RECIPE = dict(optimizer="adam", lr=2e-3, betas=(0.0, 0.99), batch_size=512, pack=2, ema=0.999, lr_decay=0.1,
                  noise="normal", noise_dim=2, log_every=100, sample_every=2000, checkpoint_every=2000)
TOY_DEFAULTS = {"ring": (dict(TOY_RECIPE, steps=12000), dict(TOY_ARCH, g_hidden=[64] * 4, d_hidden=[32, 32])),
                "grid": (dict(TOY_RECIPE, steps=40000), dict(TOY_ARCH, g_hidden=[128] * 4, d_hidden=[64, 64]))}

register(MLPGAN())
