"""MNIST and Fashion-MNIST: the IDX file format, where the files are looked for, and ``load_mnist``.

IDX layout (big-endian): two zero bytes, a dtype code, the number of dims ``d``;
``d`` uint32 sizes; then the values, row-major. Any file that does not follow
it exactly raises ``IDXError`` naming the file. The header is read first, so a
file that declares more than it may hold is refused before its data is read or
inflated (a gzip bomb inflates no further than its header's size allows).
"""
import gzip
import math
import os
import struct
import zlib

import numpy as np

from . import download as _download

GZIP_MAGIC = b"\x1f\x8b"
DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_BYTES = 1 << 31  # read_idx's default bound on the data a header may declare


class IDXError(ValueError):
    """A file that is not a complete, well-formed IDX file, or not the one expected."""


def read_idx(path, max_bytes=MAX_BYTES, check=None):
    """The array stored in the IDX file at ``path`` (``.gz`` or raw), in native byte order.

    A header declaring more than ``max_bytes`` of data is refused; so is one that ``check(dtype, shape)``,
    called before the data is read, refuses by returning a reason (a string)."""
    with _open(path) as f:
        dtype, shape = _read_header(path, f)
        size = math.prod(shape) * dtype.itemsize
        reason = (f"its header declares {size} bytes of data, more than the {max_bytes} allowed"
                  if size > max_bytes else check and check(dtype, shape))
        if reason:
            raise IDXError(f"{path}: {reason}")
        data = _read(path, f, size + 1)  # one byte more than declared, to see a file that holds more
    if len(data) != size:
        holds = "more than that" if len(data) > size else f"{len(data)}: truncated or corrupt"
        raise IDXError(f"{path}: IDX header says {shape} of {dtype.name} ({size} bytes of data), "
                       f"the file holds {holds}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _open(path):
    """``path`` as a binary stream, inflated as it is read if it is gzipped."""
    f = open(path, "rb")  # noqa: SIM115 (returned open; GzipFile closes it too)
    gzipped = f.read(2) == GZIP_MAGIC
    f.seek(0)
    return gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f


def _read(path, f, n):
    """Up to ``n`` bytes of ``f``; IDXError naming ``path`` if its gzip data is corrupt."""
    try:
        return f.read(n)
    except (OSError, EOFError, zlib.error) as e:
        raise IDXError(f"{path}: corrupt or truncated gzip data ({e})") from e


def _read_header(path, f):
    """(dtype, shape) from the magic number and the dims."""
    magic = _read(path, f, 4)
    if len(magic) < 4:
        raise IDXError(f"{path}: {len(magic)} bytes, too short for an IDX header")
    zeros, code, ndim = magic[:2], magic[2], magic[3]
    if zeros != b"\0\0" or code not in DTYPES:
        raise IDXError(f"{path}: bad IDX magic number 0x{magic.hex()} "
                       f"(expected 0x0000 then a dtype code in {[hex(c) for c in DTYPES]}, then ndim)")
    dims = _read(path, f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(f"{path}: truncated IDX header ({ndim} dims need {4 + 4 * ndim} bytes, "
                       f"file has {4 + len(dims)})")
    return np.dtype(DTYPES[code]), struct.unpack(f">{ndim}I", dims)


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
SIDE, CLASSES = 28, 10
MOST = {"train": 60_000, "t10k": 10_000}  # images in the published files: a file may hold fewer, not more


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
    images, labels = _read_pair(_locate(name, stems, data_dir, download, mirror, sha256), split)
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
    hint = (f"Put the four files {', '.join(_download.SOURCES[name][1])} (gzipped or not) in one of {dirs}: "
            f"name the folder with --data-dir DIR at the command line (data_dir= in Python), or set "
            f"MINIGAN_DATA to a folder holding {name}/.")
    if not download:
        raise FileNotFoundError(f"{name} files not found. {hint}")
    try:
        return _download.download(name, dirs[0], [s + ".gz" for s in stems], mirror, sha256)
    except _download.DownloadError as e:
        raise type(e)(f"{e}\n{hint}") from e


def _read_pair(paths, split):
    """(images uint8 (N, 28, 28), labels uint8 (N,) in 0..9) of ``split``'s files, N at most the published files',
    each file's header checked before its data is read."""
    most = MOST["t10k" if split == "test" else "train"]
    images = read_idx(paths[0], check=_expect((None, SIDE, SIDE), most))
    labels = read_idx(paths[1], check=_expect((len(images),), most))
    if labels.max() >= CLASSES:
        raise IDXError(f"{paths[1]}: holds label {labels.max()}; MNIST's labels are 0 to {CLASSES - 1}")
    if split != "test" and len(images) <= VALIDATION_SIZE:
        raise IDXError(f"{paths[0]}: {len(images)} training images; the train split needs more than the "
                       f"{VALIDATION_SIZE} that the validation split takes")
    return images, labels


def _expect(shape, most):
    """A read_idx check: uint8 values of ``shape`` (None: any), between 1 and ``most`` items."""
    def check(dtype, got):
        fits = len(got) == len(shape) and all(s in (None, g) for s, g in zip(shape, got))
        if dtype != np.uint8 or not fits or not 1 <= got[0] <= most:
            wanted = str(shape).replace("None", "N")
            return f"expected uint8 values of shape {wanted}, 1 to {most} items; the header says {got} of {dtype.name}"
        return None
    return check


def _check_choice(what, value, choices):
    if value not in choices:
        raise ValueError(f"{what} {value!r} is not one of {choices}")
