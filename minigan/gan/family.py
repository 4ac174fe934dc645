"""Model families: what the trainer asks of a GAN, and the registry the CLI reads.

A family builds a generator G and a discriminator D for a dataset, draws G's noise, and
names its default settings. The trainer, ``minigan train`` and ``minigan evaluate`` work
with any registered family:

    class DCGAN(Family):
        name, help = "dcgan", "Radford et al. 2015"
        options = {"ngf": (int, "generator feature maps")}   # become --ngf, kept in config.arch
        def defaults(self, dataset): ...
        def build(self, config, data_shape, generator, dropout_generator): ...
    register(DCGAN())
"""
from ..tensor import Tensor

FAMILIES = {}


class Family:
    """The hooks of one model family. ``options`` maps an ``arch`` key to (type, help) for the CLI;
    ``default_dataset`` is what it trains on when no dataset is named."""
    name = None
    help = ""
    options = {}
    default_dataset = "ring"

    def defaults(self, dataset):
        """Settings for ``dataset`` that differ from TrainConfig's, ``arch`` included (a dict)."""
        return {}

    def build(self, config, data_shape, generator, dropout_generator):
        """(G, D): G maps noise to samples of ``data_shape``; D maps a batch of ``config.pack``
        samples concatenated along axis 1 to one logit each, shape (N, 1). ``generator`` draws
        the initial weights; ``dropout_generator`` every dropout mask."""
        raise NotImplementedError

    def sample_noise(self, config, n, generator, device):
        """``n`` noise vectors for G: (n, noise_dim), uniform on [-1, 1] or standard normal."""
        shape = (n, config.noise_dim)
        if config.noise == "uniform":
            return Tensor(generator.uniform(shape, device=device, low=-1.0, high=1.0))
        return Tensor(generator.normal(shape, device=device))

    def metrics(self, run, seed=0):
        """The numbers ``minigan evaluate`` prints for ``run`` (a minigan.gan.Run); a family may add its own
        to the dataset's (``{**super().metrics(run, seed), "fid": ...}``)."""
        return run.dataset.metrics(run, seed)


def positive(text):
    """A family option's converter: a positive integer."""
    value = int(text)
    if value < 1:
        raise ValueError(f"expected a positive integer, got {text!r}")
    return value


def probability(text):
    """A family option's converter: a probability in [0, 1), such as a dropout rate."""
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(f"expected a probability in [0, 1), got {text!r}")
    return value


def register(family):
    """Make ``family`` available to the trainer and as ``minigan train <family.name>``."""
    FAMILIES[family.name] = family
    return family


def get_family(name):
    if name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(FAMILIES)}")
    return FAMILIES[name]
