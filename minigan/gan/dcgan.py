"""The DCGAN of Radford et al. 2015 ("Unsupervised Representation Learning with Deep Convolutional GANs").

Generator: z (N, nz) seen as (N, nz, 1, 1), a 4x4 transposed convolution projects it to (N, ngf 2^(k-1), 4, 4),
then k stride-2 transposed convolutions double the resolution (4 -> 8 -> 16 -> 32 for k = 3) and halve the
width, down to the image's channels; batch norm and ReLU after every layer but the last, tanh at the output.
Discriminator: the mirror: k stride-2 convolutions halve the resolution (32 -> 16 -> 8 -> 4) with LeakyReLU(0.2),
batch norm after every one but the first, then a 4x4 convolution to one logit.
No pooling and no hidden fully connected layer; no bias before a batch norm (its mean subtraction
cancels one). Weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0.
"""
import os

from .. import nn, serialize
from ..random import Generator
from .datasets import get_dataset
from .family import Family, positive, register

KERNEL = 4  # every layer's kernel: stride 2, padding 1 doubles or halves the side exactly


def image_size(text):
    """--image-size: a power of two >= 8 (the generator starts at 4x4 and doubles)."""
    size = int(text)
    if size < 8 or size & (size - 1):
        raise ValueError(f"image size must be a power of two >= 8 (e.g. 32 or 64), got {text!r}")
    return size


def widths(base, size):
    """The feature maps of the layers between 4x4 and ``size``: [base, 2 base, 4 base] for 32 (D's order)."""
    return [base * 2**i for i in range(image_size(size).bit_length() - 3)]  # log2(size / 4) layers


def dcgan_generator(nz, ngf, channels, size, generator=None):
    """(N, nz) -> images (N, channels, size, size) in [-1, 1]. For size 32, the state sizes run
    nz x 1 x 1 -> (ngf*4) x 4 x 4 -> (ngf*2) x 8 x 8 -> ngf x 16 x 16 -> channels x 32 x 32."""
    c = widths(ngf, size)[::-1]  # the feature maps from 4x4 up: [ngf*4, ngf*2, ngf] for 32x32

    def up(c_in, c_out, stride, padding):  # a transposed convolution, batch norm, ReLU
        return [nn.ConvTranspose2d(c_in, c_out, KERNEL, stride, padding, bias=False, generator=generator),
                nn.BatchNorm2d(c_out), nn.ReLU()]
    layers = [nn.Unflatten(1, (nz, 1, 1))]  # state size: nz x 1 x 1
    layers += up(nz, c[0], 1, 0)  # state size: c[0] x 4 x 4
    for c_in, c_out in zip(c, c[1:]):
        layers += up(c_in, c_out, 2, 1)  # state size: c_out x 2h x 2w, the side doubled: 8, then 16 ...
    layers += [nn.ConvTranspose2d(ngf, channels, KERNEL, 2, 1, generator=generator),
               nn.Tanh()]  # state size: channels x size x size
    return dcgan_init_(nn.Sequential(*layers), generator)


def dcgan_discriminator(channels, ndf, size, generator=None):
    """Images (N, channels, size, size) -> logits (N, 1). For size 32, the state sizes run
    channels x 32 x 32 -> ndf x 16 x 16 -> (ndf*2) x 8 x 8 -> (ndf*4) x 4 x 4 -> 1 x 1 x 1."""
    c = widths(ndf, size)  # the feature maps from the first layer down to 4x4: [ndf, ndf*2, ndf*4] for 32x32
    layers = [nn.Conv2d(channels, c[0], KERNEL, 2, 1, generator=generator),
              nn.LeakyReLU(0.2)]  # state size: c[0] x size/2 x size/2 (no batch norm on the input layer)
    for c_in, c_out in zip(c, c[1:]):
        layers += [nn.Conv2d(c_in, c_out, KERNEL, 2, 1, bias=False, generator=generator), nn.BatchNorm2d(c_out),
                   nn.LeakyReLU(0.2)]  # state size: c_out x h/2 x w/2, the side halved, down to 4 x 4
    layers += [nn.Conv2d(c[-1], 1, KERNEL, 1, 0, generator=generator),  # state size: 1 x 1 x 1
               nn.Flatten()]  # state size: 1
    return dcgan_init_(nn.Sequential(*layers), generator)


def dcgan_init_(net, generator=None):
    """The paper's initialisation, in place: conv weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
            mean = 1.0 if isinstance(m, nn.BatchNorm2d) else 0.0
            nn.init.normal_(m.weight, mean, 0.02, generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def image_dataset(name):
    dataset = get_dataset(name)
    if dataset.kind != "images":
        raise ValueError(f"dcgan trains on images (--dataset fashion-mnist, mnist or folder); {name!r} is a set "
                         f"of {dataset.kind}")
    return dataset


def load_discriminator(run):
    """D of a minigan.gan.Run, rebuilt from its config and checkpoint, in eval mode."""
    _, D = run.family.build(run.config, run.dataset.shape, Generator(0), Generator(0))
    D.load_state_dict(serialize.load(os.path.join(run.path, "checkpoint.npz"))["D"])
    return D.eval()


class DCGAN(Family):
    name, default_dataset = "dcgan", "fashion-mnist"
    help = ("the DCGAN of Radford et al. 2015: transposed convolutions up from 4x4 in G, strided convolutions "
            "in D, batch norm, ReLU/tanh in G and LeakyReLU(0.2) in D")
    options = {
        "image_size": (image_size, "image side, a power of two: 32 (28x28 data padded by 2 px) or 64 (resized)"),
        "channels": (positive, "image channels of --dataset folder: 3 (RGB) or 1 (grayscale)"),
        "ngf": (positive, "generator feature maps at the last layer before the image"),
        "ndf": (positive, "discriminator feature maps at the first layer"),
    }

    def defaults(self, dataset):
        image_dataset(dataset)
        return dict(DEFAULTS, arch=dict(ARCH, **(FOLDER_ARCH if dataset == "folder" else {})))

    def build(self, config, data_shape, generator, dropout_generator):
        channels, size, _ = image_dataset(config.dataset).shape_for(config)
        a = config.arch
        G = dcgan_generator(config.noise_dim, a["ngf"], channels, size, generator)
        D = dcgan_discriminator(channels * config.pack, a["ndf"], size, generator)
        return G, D

    def metrics(self, run, seed=0):
        """The dataset's (Parzen), then the classifier's image metrics and the linear probe on D's features."""
        from . import image_metrics  # imported here: it imports this module
        return {**super().metrics(run, seed), **image_metrics.evaluate(run, seed)}


# The paper's recipe: Adam at lr 2e-4 with beta1 0.5, batches of 128, z ~ N(0, I) of size 100, pixels in [-1, 1].
ARCH = dict(image_size=32, channels=None, ngf=64, ndf=64)
FOLDER_ARCH = dict(image_size=64, channels=3)
DEFAULTS = dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.999), batch_size=128, epochs=5, noise="normal",
                noise_dim=100, scale="tanh", log_every=50, sample_every=500, checkpoint_every=500)

register(DCGAN())
