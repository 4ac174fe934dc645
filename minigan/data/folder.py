"""Images from a folder of PNG/JPEG files, and the 28 -> 32 / 28 -> 64 adapters for DCGAN.

Every image leaves as float32 (N, C, S, S) in [-1, 1], the range of a tanh generator, whatever
mode Pillow opens it in: 1-bit, 2-, 4- and 8-bit grey, palette, RGB and CMYK as Pillow converts
them; 16-bit grey scaled to 8 bits (Pillow's own conversion would clip it at 255); transparent
pixels (an alpha channel, or a PNG's transparent colour) composited over black.
"""
import os
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import backend

EXTENSIONS = (".png", ".jpg", ".jpeg")
MODES = {1: "L", 3: "RGB"}
ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def image_files(path):
    """The PNG/JPEG files below ``path`` (subfolders included), sorted."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"load_folder: {path!r} is not a directory")
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(path)
                   for f in names if f.lower().endswith(EXTENSIONS))
    if not files:
        raise FileNotFoundError(f"load_folder: no {'/'.join(EXTENSIONS)} images in {path!r}")
    return files


def load_folder(path, image_size, channels=3):
    """Every image below ``path``: shorter side resized to ``image_size`` (bilinear), centre-cropped."""
    if channels not in MODES:
        raise ValueError(f"load_folder: channels must be one of {tuple(MODES)}, got {channels}")
    pixels = np.stack([_load_image(f, image_size, MODES[channels]) for f in image_files(path)])
    pixels = pixels.reshape(*pixels.shape[:3], channels).transpose(0, 3, 1, 2)  # n h w c -> n c h w
    return pixels / np.float32(127.5) - np.float32(1)


def _load_image(path, size, mode):
    """One image as uint8 (size, size[, 3]); decoding is per file, the arithmetic after it is batched."""
    try:
        with warnings.catch_warnings():  # an image over Pillow's pixel limit is refused, not only warned of
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = to_mode(im, mode)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise ValueError(f"load_folder: cannot read image {path}: {e}") from e
    w, h = im.size
    new_w, new_h = max(size, round(w * size / min(w, h))), max(size, round(h * size / min(w, h)))
    left, top = (new_w - size) // 2, (new_h - size) // 2
    im = im.resize((new_w, new_h), Image.BILINEAR).crop((left, top, left + size, top + size))
    return np.asarray(im)


def to_mode(im, mode):
    """``im`` as an 8-bit "L" or "RGB" image: 16-bit grey divided by 257 (rounded), transparent pixels over black."""
    if im.mode.startswith("I"):  # "I;16", "I;16B", ... and "I": 16-bit grey
        grey = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(np.rint(grey / 257), 0, 255).astype(np.uint8), "L")
    if im.mode in ALPHA_MODES or "transparency" in im.info:
        im = Image.alpha_composite(Image.new("RGBA", im.size, "black"), im.convert("RGBA"))
    return im.convert(mode)


def pad_images(images, size=32, value=-1.0):
    """Centre ``images`` (N, C, H, W) on a ``size`` x ``size`` canvas of ``value`` (-1: background in tanh scale)."""
    *_, h, w = images.shape
    if size < h or size < w:
        raise ValueError(f"pad_images: images of shape {images.shape} do not fit in {size}x{size}")
    top, left = (size - h) // 2, (size - w) // 2
    widths = ((0, 0),) * (images.ndim - 2) + ((top, size - h - top), (left, size - w - left))
    return backend.array_module(images).pad(images, widths, constant_values=value)


def resize_bilinear(images, size):
    """Resize ``images`` (N, C, H, W) to ``size`` x ``size``: two matmuls with interpolation matrices.

    The same as torch's ``F.interpolate(mode="bilinear", align_corners=False)`` (no antialiasing).
    """
    xp = backend.array_module(images)
    *_, h, w = images.shape
    rows = xp.asarray(interpolation_matrix(h, size), dtype=images.dtype)  # s h
    cols = xp.asarray(interpolation_matrix(w, size), dtype=images.dtype)  # s w
    return rows @ images @ cols.T                                         # (s h)(n c h w)(w s) -> n c s s


def interpolation_matrix(n_in, n_out):
    """(n_out, n_in) weights of 1-D linear interpolation with half-pixel centres."""
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)  # where output i reads the input
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    weights = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    weights[rows, lo] += 1 - frac
    weights[rows, hi] += frac  # lo == hi at the last pixel: the two weights add up to 1
    return weights
