"""Checkpoints: a nested state dict in one .npz, written atomically, read without pickle.

The file holds one entry per array (named "0", "1", ...) and a JSON manifest (the entry
``__manifest__``, a unicode string array) that describes the tree: dicts with their str or
int keys in order, lists, tuples, None, bools, ints, floats, strings, NumPy scalars, and
which entry each array is. A Tensor is saved as its array, a CuPy array as a NumPy one.
Nothing is pickled, so loading a file runs no code from it. Entries are stored uncompressed, so
no entry can declare more bytes than the file holds; one that does, or whose .npy header's shape
needs other bytes than its entry has, is refused before anything is allocated for it.

    minigan.save({"model": G.state_dict(), "optim": opt.state_dict(), "epoch": 3}, "ckpt.npz")
    state = minigan.load("ckpt.npz")            # NumPy arrays; device="cuda" for CuPy ones
"""
import json
import math
import os
import zipfile
import zlib

import numpy as np

from . import backend, files
from .tensor import Tensor

MANIFEST = "__manifest__"
FORMAT, VERSION = "minigan-checkpoint", 1
ZIP_MAGIC, NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"
# .npy header readers by format version; 3.0 differs from 2.0 only in the text encoding of field names
NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0,
               (3, 0): np.lib.format.read_array_header_2_0}
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}
_SCALAR_TYPES = {name: t for t, name in _SCALARS.items()}


class CheckpointError(ValueError):
    """A file that is not a readable minigan checkpoint (truncated, corrupt or foreign)."""


def save(state, path):
    """Write ``state`` to ``path`` (exactly that name) atomically: a reader sees the old file or the new.
    Temporaries that earlier, killed saves of ``path`` left beside it are removed first (see files.atomic_write)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: a directory; a checkpoint is a file")
    arrays = {}
    tree = _encode(state, arrays, "state")
    arrays[MANIFEST] = np.array(json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}))
    with files.atomic_write(path) as f:
        np.savez(f, **arrays)


def load(path, device="cpu"):
    """The state saved at ``path``, its arrays on ``device``; CheckpointError if it is not a checkpoint."""
    path, device = os.fspath(path), backend.check_device(device)
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: a directory, not a minigan checkpoint")
    with open(path, "rb") as f:
        try:
            start = f.read(len(NPY_MAGIC))
            if not start.startswith(ZIP_MAGIC):
                raise CheckpointError(f"{path}: not a minigan checkpoint ({_not_a_zip(start)})")
            f.seek(0)
            with np.load(f, allow_pickle=False) as contents:
                read = _entry_reader(contents, path, os.fstat(f.fileno()).st_size)
                return _decode(_read_manifest(contents, read, path), read, device)
        except CheckpointError:
            raise
        except RecursionError as e:
            raise CheckpointError(f"{path}: not a minigan checkpoint (its manifest is nested too deeply)") from e
        except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, zipfile.BadZipFile,
                zlib.error) as e:
            raise CheckpointError(f"{path}: not a readable minigan checkpoint ({type(e).__name__}: {e})") from e


def _not_a_zip(start):
    if not start:
        return "an empty file"
    if start == NPY_MAGIC:
        return "a single .npy array, not an .npz"
    return "not an .npz archive"


def _entry_reader(contents, path, file_size):
    """``read(name)``: the array of entry ``name``, once its sizes are checked against the file's."""
    def read(name):
        info = contents.zip.getinfo(name + ".npy")
        if info.file_size > file_size:
            raise CheckpointError(f"{path}: entry {name!r} declares {info.file_size} bytes, more than the whole "
                                  f"file's {file_size}; not a minigan checkpoint")
        with contents.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in NPY_HEADERS:
                raise CheckpointError(f"{path}: entry {name!r} is in .npy format {version}, which minigan does "
                                      "not read")
            shape, _, dtype = NPY_HEADERS[version](member)
            data_size = info.file_size - member.tell()
        if dtype.hasobject:
            raise CheckpointError(f"{path}: not a minigan checkpoint (entry {name!r} holds Python objects, "
                                  "which only pickle could read; minigan never unpickles)")
        if math.prod(shape) * dtype.itemsize != data_size:
            raise CheckpointError(f"{path}: entry {name!r} declares an array {shape} of {dtype} "
                                  f"({math.prod(shape) * dtype.itemsize} bytes); it holds {data_size} bytes")
        return contents[name]
    return read


def _encode(value, arrays, where):
    """The manifest node of ``value``, adding its arrays to ``arrays``; ``where`` names it in errors."""
    if isinstance(value, Tensor):
        value = value.data
    if value is None:
        return ["none"]
    if type(value) in _SCALARS:
        return [_SCALARS[type(value)], value]
    if type(value) in (list, tuple):
        return [type(value).__name__, [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]]
    if isinstance(value, dict):  # an OrderedDict (Module.state_dict) too; it loads as a dict
        return ["dict", [[_key(k, where), _encode(v, arrays, f"{where}[{k!r}]")] for k, v in value.items()]]
    if isinstance(value, (np.ndarray, np.generic)) or backend.device_of(value) == "cuda":
        array = np.asarray(value) if isinstance(value, np.generic) else backend.to_numpy(value)
        if array.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of Python objects, which only pickle could store")
        arrays[str(len(arrays))] = array
        return ["scalar" if isinstance(value, np.generic) else "array", str(len(arrays) - 1)]
    raise TypeError(f"save: cannot store {where}, a {type(value).__name__}")


def _key(key, where):
    if type(key) not in (str, int):
        raise TypeError(f"save: dict keys must be str or int, {where} has the key {key!r}")
    return key


def _decode(node, read, device):
    """The value that ``node`` describes; ``read(name)`` gives the array stored as ``name``."""
    tag, *payload = node
    if tag == "none" and not payload:
        return None
    (body,) = payload
    if tag in _SCALAR_TYPES:
        return _checked(body, _SCALAR_TYPES[tag])
    if tag in ("list", "tuple"):
        items = [_decode(v, read, device) for v in _checked(body, list)]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        return {_checked(k, (str, int)): _decode(v, read, device) for k, v in _checked(body, list)}
    if tag == "array":
        return backend.to_device(read(_checked(body, str)), device)
    if tag == "scalar":
        return read(_checked(body, str))[()]
    raise ValueError(f"unknown manifest node {tag!r}")


def _checked(value, types):
    types = types if isinstance(types, tuple) else (types,)
    if type(value) not in types:
        raise TypeError(f"manifest holds {value!r:.40}, expected {' or '.join(t.__name__ for t in types)}")
    return value


def _read_manifest(contents, read, path):
    if MANIFEST not in contents.files:
        raise CheckpointError(f"{path}: an .npz without a minigan manifest, not a minigan checkpoint")
    manifest = read(MANIFEST)
    if manifest.dtype.kind != "U" or manifest.shape != ():
        raise CheckpointError(f"{path}: the manifest is a {manifest.dtype} array of shape {manifest.shape}")
    header = json.loads(str(manifest[()]))
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(f"{path}: the manifest starts {str(manifest[()])[:60]!r}; this minigan reads "
                              f"format {FORMAT!r} version {VERSION}")
    return header["tree"]
