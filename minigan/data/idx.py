"""MNIST and Fashion-MNIST: the IDX file format, where the files are looked for, and ``load_mnist``.

IDX layout (big-endian): two zero bytes, a dtype code, the number of dims ``d``;
``d`` uint32 sizes; then the values, row-major. Any file that does not follow
it exactly raises ``IDXError`` naming the file.
"""
import gzip
import os
import zlib

import numpy as np

from . import download as _download

GZIP_MAGIC = b"\x1f\x8b"
DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """A file that is not a complete, well-formed IDX file."""


def read_idx(path):
    """The array stored in the IDX file at ``path`` (``.gz`` or raw), in native byte order."""
    raw = _read_bytes(path)
    dtype, shape, offset = _parse_header(path, raw)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise IDXError(f"{path}: IDX header says {shape} of {dtype.name} ({expected} bytes of data), "
                       f"the file holds {len(raw) - offset}: truncated or corrupt")
    data = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IDXError(f"{path}: corrupt or truncated gzip data ({e})") from e


def _parse_header(path, raw):
    """(dtype, shape, offset of the data) from the magic number and the dims."""
    if len(raw) < 4:
        raise IDXError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zeros, code, ndim = raw[:2], raw[2], raw[3]
    if zeros != b"\0\0" or code not in DTYPES:
        raise IDXError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} "
                       f"(expected 0x0000 then a dtype code in {[hex(c) for c in DTYPES]}, then ndim)")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise IDXError(f"{path}: truncated IDX header ({ndim} dims need {offset} bytes, file has {len(raw)})")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.dtype(DTYPES[code]), shape, offset


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in .gz); the inverse of read_idx."""
    array = np.asarray(array)
    code = next((c for c, t in DTYPES.items() if np.dtype(t).newbyteorder("=") == array.dtype), None)
    if code is None:
        raise ValueError(f"write_idx: IDX has no dtype code for {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(DTYPES[code]).tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, mtime=0) if str(path).endswith(".gz") else raw)


SYSTEM_DIR = "/usr/share/datasets"
VALIDATION_SIZE = 10_000  # the last 10,000 training images, as in Goodfellow et al. 2014
SPLITS = ("train", "val", "test")
SCALES = {"tanh": (127.5, 1.0), "unit": (255.0, 0.0)}  # pixel / a - b: [-1, 1] or [0, 1]


def search_dirs(name, data_dir=None):
    """Where the files of ``name`` are looked for, in order; the first is where downloads go."""
    env = os.environ.get("MINIGAN_DATA")
    dirs = [data_dir, env and os.path.join(env, name),
            os.path.join(os.path.expanduser("~"), ".cache", "minigan", name), os.path.join(SYSTEM_DIR, name)]
    return [str(d) for d in dirs if d]


def find_files(dirs, stems):
    """The paths of ``stems`` (``<stem>.gz`` or ``<stem>``) in the first dir that holds them all, else None."""
    for d in dirs:
        paths = [next((p for p in (os.path.join(d, s + ".gz"), os.path.join(d, s)) if os.path.isfile(p)), None)
                 for s in stems]
        if all(paths):
            return paths
    return None


def load_mnist(name="mnist", split="train", data_dir=None, scale="tanh", download=True, mirror=None, sha256=None):
    """(images float32 (N, 1, 28, 28), labels int64 (N,)) of MNIST or Fashion-MNIST.

    ``split``: "train" (the first 50,000 training images), "val" (the last 10,000) or "test".
    ``scale``: "tanh" maps pixels to [-1, 1], "unit" to [0, 1]. Files are looked for in
    ``search_dirs(name, data_dir)``; when absent and ``download``, they are fetched from ``mirror``
    (default: the dataset's canonical URL) into the first of those dirs, checked against ``sha256``.
    """
    _check_choice("load_mnist: dataset", name, tuple(_download.SOURCES))
    _check_choice("load_mnist: split", split, SPLITS)
    _check_choice("load_mnist: scale", scale, tuple(SCALES))
    prefix = "t10k" if split == "test" else "train"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    images, labels = _read_pair(_locate(name, stems, data_dir, download, mirror, sha256))
    if split != "test":
        keep = slice(None, -VALIDATION_SIZE) if split == "train" else slice(-VALIDATION_SIZE, None)
        images, labels = images[keep], labels[keep]
    a, b = SCALES[scale]
    return images[:, None] / np.float32(a) - np.float32(b), labels.astype(np.int64)


def _locate(name, stems, data_dir, download, mirror, sha256):
    dirs = search_dirs(name, data_dir)
    paths = find_files(dirs, stems)
    if paths is not None:
        return paths
    hint = (f"Put {' and '.join(s + '.gz' for s in stems)} (gzipped or not) in one of {dirs} "
            f"(pass data_dir=, or set MINIGAN_DATA to a folder holding {name}/).")
    if not download:
        raise FileNotFoundError(f"{name} files not found. {hint}")
    try:
        return _download.download(name, dirs[0], [s + ".gz" for s in stems], mirror, sha256)
    except _download.DownloadError as e:
        raise type(e)(f"{e}\n{hint}") from e


def _read_pair(paths):
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IDXError(f"{paths[0]} {images.shape} and {paths[1]} {labels.shape}: "
                       f"expected images (N, H, W) and labels (N,)")
    return images, labels


def _check_choice(what, value, choices):
    if value not in choices:
        raise ValueError(f"{what} {value!r} is not one of {choices}")
