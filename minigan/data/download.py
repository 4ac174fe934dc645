"""Fetch MNIST-family files over HTTP: SHA-256 checked, written atomically.

A file is streamed into a hidden temporary file next to its destination while
it is hashed (``minigan.files.atomic_write``); only when the digest is one of the
known ones is it renamed into place, so a failed or corrupt download leaves nothing,
and the temporary of a download killed outright (SIGKILL, or SIGTERM, which Python
does not turn into an exception) is removed by the next attempt. A dataset folder
that a failed attempt leaves empty is removed too.
The base URL of each dataset can be overridden with an argument or with the
environment variable ``MINIGAN_MNIST_MIRROR`` / ``MINIGAN_FASHION_MNIST_MIRROR``.
"""
import contextlib
import hashlib
import os
import sys
import urllib.request

from .. import files

CHUNK = 1 << 20
TIMEOUT_S = 60

# SHA-256 of the canonical .gz files, as published in torchvision (prototype/datasets/_builtin/mnist.py).
# Fashion-MNIST's S3 copies have been recompressed over the years, so a second digest is accepted for each:
# that of the copy installed on the build machine under /usr/share/datasets/fashion-mnist (gzip mtime 2020-06-05).
SOURCES = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    }),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                                       "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
        "train-labels-idx1-ubyte.gz": ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                                       "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
        "t10k-images-idx3-ubyte.gz": ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                                      "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
        "t10k-labels-idx1-ubyte.gz": ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                                      "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
    }),
}


class DownloadError(RuntimeError):
    """A file could not be fetched (no network, HTTP error, bad checksum)."""


class ChecksumError(DownloadError):
    """The fetched bytes are not the expected file."""


def mirror(name, base_url=None):
    """The base URL for dataset ``name``: the argument, else $MINIGAN_<NAME>_MIRROR, else the canonical one."""
    env = "MINIGAN_" + name.upper().replace("-", "_") + "_MIRROR"
    url = base_url or os.environ.get(env) or SOURCES[name][0]
    return url if url.endswith("/") else url + "/"


def download(name, directory, filenames, base_url=None, sha256=None):
    """Fetch those of ``filenames`` (of dataset ``name``) that ``directory`` lacks; the paths of all.

    ``sha256`` maps a file name to its digest (or a tuple of accepted digests), replacing
    the known ones, for a mirror that serves other bytes.
    """
    digests = {**SOURCES[name][1], **(sha256 or {})}
    created = _missing_folders(directory)
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, filename) for filename in filenames]
    try:
        for path in paths:
            files.remove_stale_temporaries(path)  # what a killed attempt left
            if not os.path.isfile(path):  # a file fetched by an earlier, interrupted call stays
                accepted = digests[os.path.basename(path)]
                fetch(mirror(name, base_url) + os.path.basename(path), path,
                      (accepted,) if isinstance(accepted, str) else accepted)
    except BaseException:
        _remove_empty([os.path.abspath(directory), *created])
        raise
    return paths


def _missing_folders(directory):
    """The folders that ``os.makedirs(directory)`` would create, deepest first."""
    missing, folder = [], os.path.abspath(directory)
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def _remove_empty(folders):
    """Remove each of ``folders`` that is empty, in order (deepest first)."""
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty, or already gone
            os.rmdir(folder)


def fetch(url, path, sha256):
    """Stream ``url`` to ``path`` if its SHA-256 is in ``sha256``; ``path``. Nothing is left behind on failure."""
    print(f"minigan: downloading {url}", file=sys.stderr)
    with files.atomic_write(path) as out:
        digest = _copy_hashing(url, out)
        if digest not in sha256:
            raise ChecksumError(f"{url}: SHA-256 {digest} is not the expected {' or '.join(sha256)}; file refused")
    return path


def _copy_hashing(url, out):
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            while chunk := response.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
    except OSError as e:  # urllib.error.URLError and HTTPError included
        raise DownloadError(f"could not download {url}: {e}") from e
    return h.hexdigest()
