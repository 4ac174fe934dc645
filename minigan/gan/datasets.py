"""The datasets a GAN trains on: 2D mixtures drawn on the fly, and image sets batched from memory.

Each dataset gives the trainer a stream of real batches (``next()``, ``state_dict()``), saves
a picture of samples, and computes the numbers ``minigan evaluate`` prints.
"""
from .. import metrics
from ..data import DataLoader, infinite, load_folder, load_mnist, pad_images, resize_bilinear, toy2d
from ..tensor import Tensor
from . import plots

DATASETS = {}


class Points:
    """A 2D Gaussian mixture of minigan.data.toy2d ("ring", "grid"); an endless stream, no epochs."""
    kind, shape, preview = "points", (2,), 1000

    def __init__(self, name):
        self.name, self.mixture = name, toy2d.get(name)

    def stream(self, config, generator):
        return PointStream(self.mixture, config.batch_size, generator, config.device)

    def save_samples(self, samples, path, title):
        plots.scatter(samples, self.mixture.centers, path, title)

    def metrics(self, run, seed=0):
        """Modes covered, % high-quality samples and reverse KL of 2,500 samples."""
        samples = run.sample(metrics.MODE_SAMPLES, seed)
        return {"samples": len(samples), "n_modes": len(self.mixture.centers),
                **metrics.mode_stats(samples, self.mixture.centers, self.mixture.std)}


class PointStream:
    steps_per_epoch = None

    def __init__(self, mixture, batch_size, generator, device):
        self.mixture, self.batch_size, self.generator, self.device = mixture, batch_size, generator, device

    def next(self):
        return Tensor(self.mixture.sample(self.batch_size, self.generator, self.device))

    def state_dict(self):
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.generator.set_state(state["generator"])


class MNIST:
    """MNIST or Fashion-MNIST (1, 28, 28): 50,000 training images, validation and test sets of 10,000."""
    kind, shape, preview = "images", (1, 28, 28), 64

    def __init__(self, name):
        self.name = name

    def shape_for(self, config):
        """(1, S, S): S is --image-size (DCGAN's), else 28."""
        if config.arch.get("channels") not in (None, 1):
            raise ValueError(f"{self.name} images have 1 channel, not {config.arch['channels']}")
        return (1,) + (config.arch.get("image_size") or 28,) * 2

    def images(self, split, config, scale=None):
        return self.labelled(split, config, scale)[0]

    def labelled(self, split, config, scale=None):
        """(images at the run's size, int labels) of ``split``: "train", "val" or "test"."""
        scale = scale or config.scale
        images, labels = load_mnist(self.name, split, config.data_dir, scale)
        return fit_size(images, self.shape_for(config)[-1], background=-1.0 if scale == "tanh" else 0.0), labels

    def stream(self, config, generator):
        return ImageStream.of(self.images("train", config), config, generator)

    def save_samples(self, samples, path, title):
        plots.image_grid(samples, path)

    def metrics(self, run, seed=0, n=10_000, n_validation=1_000):
        """The Parzen-window log-likelihood of the test set (Goodfellow et al. 2014), pixels in [0, 1]:
        sigma chosen on ``n_validation`` validation images, ``n`` samples."""
        samples = (run.sample(n, seed) + 1) / 2
        validation = self.images("val", run.config, "unit")[:n_validation]
        parzen = metrics.parzen_evaluate(samples, validation, self.images("test", run.config, "unit"))
        return {"samples": n, "parzen_sigma": parzen["sigma"], "parzen_log_likelihood": parzen["mean"],
                "parzen_stderr": parzen["stderr"]}


class ImageStream:
    """Batches of a DataLoader, epoch after epoch."""

    def __init__(self, loader):
        self.loader, self.batches = loader, None
        self.steps_per_epoch = len(loader)

    @classmethod
    def of(cls, images, config, generator):
        """Batches of ``config.batch_size`` ``images`` in an order drawn by ``generator``."""
        if len(images) < config.batch_size:
            raise ValueError(f"{config.dataset} has {len(images)} images, fewer than one batch of "
                             f"{config.batch_size}: lower --batch-size")
        return cls(DataLoader((images,), config.batch_size, generator=generator, device=config.device))

    def next(self):
        if self.batches is None:  # started lazily, so load_state_dict can come first
            self.batches = infinite(self.loader)
        return next(self.batches)[0]

    def state_dict(self):
        return self.loader.state_dict()

    def load_state_dict(self, state):
        self.loader.load_state_dict(state)


class Folder:
    """The PNG/JPEG images below --data-dir, RGB (or grayscale with --channels 1), shorter side resized to
    --image-size and centre-cropped; no labels, so ``minigan evaluate`` has nothing to score them with."""
    kind, shape, preview = "images", (3, 64, 64), 64

    def shape_for(self, config):
        size = config.arch.get("image_size") or self.shape[-1]
        return (config.arch.get("channels") or self.shape[0], size, size)

    def stream(self, config, generator):
        if not config.data_dir:
            raise ValueError("--dataset folder needs --data-dir DIR, a folder of PNG/JPEG images")
        channels, size, _ = self.shape_for(config)
        images = load_folder(config.data_dir, size, channels)
        images = (images + 1) / 2 if config.scale == "unit" else images
        return ImageStream.of(images, config, generator)

    save_samples = MNIST.save_samples

    def metrics(self, run, seed=0):
        return {}


def register(name, dataset):
    """Make ``dataset`` trainable as ``--dataset name``."""
    DATASETS[name] = dataset
    return dataset


def get_dataset(name):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]


for _name in toy2d.MIXTURES:
    register(_name, Points(_name))
for _name in ("mnist", "fashion-mnist"):
    register(_name, MNIST(_name))
register("folder", Folder())


def fit_size(images, size, background):
    """28x28 ``images`` (N, C, H, W) at ``size``: padded with ``background`` to 32 (a 2-px border, as LeNet-5's
    input), else resized (bilinear)."""
    if size == images.shape[-1]:
        return images
    return pad_images(images, size, background) if size == 32 else resize_bilinear(images, size)


def to_pixels(x, scale):
    """Generator output as images in [-1, 1] (from [0, 1] when ``scale`` is "unit")."""
    return x * 2 - 1 if scale == "unit" else x

