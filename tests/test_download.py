import functools
import hashlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import minigan
from minigan.data import download, idx
from minigan.data.download import ChecksumError, DownloadError
from minigan.data.idx import load_mnist, write_idx

FASHION = "/usr/share/datasets/fashion-mnist"
STEMS = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
ROOT = os.path.dirname(os.path.dirname(minigan.__file__))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (url, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("MINIGAN_DATA", "MINIGAN_MNIST_MIRROR", "MINIGAN_FASHION_MNIST_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(idx, "SYSTEM_DIR", str(tmp_path / "system"))
    monkeypatch.setattr(download, "TIMEOUT_S", 10)


def serve_test_split(root, n=5):
    """Write a small test split into the server's folder; (images, labels, their SHA-256 by file name)."""
    images = np.arange(n * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(n, 28, 28)
    labels = np.arange(n, dtype=np.uint8)
    digests = {}
    for stem, array in zip(STEMS, (images, labels)):
        write_idx(root / (stem + ".gz"), array)
        digests[stem + ".gz"] = hashlib.sha256((root / (stem + ".gz")).read_bytes()).hexdigest()
    return images, labels, digests


def test_download_into_the_first_lookup_dir_then_load(server, tmp_path):
    url, root = server
    images, labels, digests = serve_test_split(root)
    cache = tmp_path / "home" / ".cache" / "minigan" / "mnist"
    x, y = load_mnist("mnist", "test", mirror=url, sha256=digests)
    assert sorted(os.listdir(cache)) == sorted(s + ".gz" for s in STEMS)  # no temporary file left
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(x[:, 0], images / 127.5 - 1, rtol=1e-6, atol=1e-6)
    (root / (STEMS[0] + ".gz")).unlink()  # a second load reads the cache, not the server
    np.testing.assert_array_equal(load_mnist("mnist", "test", mirror=url, sha256=digests)[1], labels)


def test_mirror_env_var_and_data_dir(server, tmp_path, monkeypatch):
    url, root = server
    _, labels, digests = serve_test_split(root)
    monkeypatch.setenv("MINIGAN_MNIST_MIRROR", url.rstrip("/"))
    _, y = load_mnist("mnist", "test", data_dir=tmp_path / "mine", sha256=digests)
    np.testing.assert_array_equal(y, labels)
    assert sorted(os.listdir(tmp_path / "mine")) == sorted(s + ".gz" for s in STEMS)


def test_checksum_mismatch_is_refused_and_leaves_nothing(server, tmp_path):
    url, root = server
    _, _, digests = serve_test_split(root)
    (root / (STEMS[1] + ".gz")).write_bytes(b"not what was published")
    target = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="SHA-256"):
        load_mnist("mnist", "test", data_dir=target, mirror=url, sha256=digests)
    assert os.listdir(target) == [STEMS[0] + ".gz"]  # the good file stays; the corrupt one left no trace
    serve_test_split(root)
    (root / (STEMS[0] + ".gz")).unlink()  # a retry fetches only the file that is still missing
    load_mnist("mnist", "test", data_dir=target, mirror=url, sha256=digests)
    assert sorted(os.listdir(target)) == sorted(s + ".gz" for s in STEMS)


def test_the_published_digests_guard_a_default_download(server, tmp_path):
    url, root = server
    serve_test_split(root)  # right format, but not the published MNIST bytes
    with pytest.raises(ChecksumError):
        load_mnist("mnist", "test", data_dir=tmp_path / "data" / "cache", mirror=url)
    assert not os.path.exists(tmp_path / "data")  # neither folder that the download made is left, empty


def test_missing_file_on_the_server_is_a_download_error(server, tmp_path):
    url, _ = server
    with pytest.raises(DownloadError, match="404"):
        load_mnist("mnist", "test", mirror=url)  # into ~/.cache/minigan/mnist, of which nothing existed
    assert not os.path.exists(tmp_path / "home")


def test_a_failed_download_removes_an_empty_dataset_folder_but_keeps_the_folders_above_it(server, tmp_path):
    url, _ = server
    (tmp_path / "home" / ".cache").mkdir(parents=True)
    with pytest.raises(DownloadError):
        load_mnist("mnist", "test", mirror=url)
    assert os.listdir(tmp_path / "home") == [".cache"] and os.listdir(tmp_path / "home" / ".cache") == []


class StallingHandler(QuietHandler):
    """Sends the first half of a file, then waits: a download that a signal interrupts mid-way."""

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: len(data) // 2])
        outputfile.flush()
        time.sleep(30)


DOWNLOAD = textwrap.dedent("""
    import sys
    from minigan.data.idx import load_mnist
    load_mnist("mnist", "test", data_dir=sys.argv[1], mirror=sys.argv[2], sha256={})
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_the_next_attempt_removes_what_a_killed_download_left(server, tmp_path, signum):
    url, root = server
    _, labels, digests = serve_test_split(root)
    stalling = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StallingHandler, directory=root))
    threading.Thread(target=stalling.serve_forever, daemon=True).start()
    target = tmp_path / "data"
    child = subprocess.Popen([sys.executable, "-c", DOWNLOAD, str(target), f"http://127.0.0.1:{stalling.server_address[1]}/"],
                             env={**os.environ, "PYTHONPATH": ROOT}, stderr=subprocess.DEVNULL)
    try:
        while not (target.is_dir() and os.listdir(target)) and child.poll() is None:
            time.sleep(0.02)
        time.sleep(0.2)  # the first half arrives
        child.send_signal(signum)
        child.wait()
    finally:
        stalling.shutdown()
        stalling.server_close()
    left = os.listdir(target)
    assert len(left) == 1 and left[0].startswith(".t10k-images-idx3-ubyte.gz.") and left[0].endswith(".tmp")
    _, y = load_mnist("mnist", "test", data_dir=target, mirror=url, sha256=digests)
    np.testing.assert_array_equal(y, labels)
    assert sorted(os.listdir(target)) == sorted(s + ".gz" for s in STEMS)


def test_no_network_says_where_to_put_the_files(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: connection refused, like a machine offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as e:
        load_mnist("fashion-mnist", "test", mirror=f"http://127.0.0.1:{port}/")
    message = str(e.value)
    assert f"127.0.0.1:{port}" in message and "MINIGAN_DATA" in message and "--data-dir" in message
    assert all(f in message for f in download.SOURCES["fashion-mnist"][1])  # all four files, not just the two tried
    assert str(tmp_path / "system" / "fashion-mnist") in message


def test_mirror_precedence(monkeypatch):
    assert download.mirror("mnist") == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert download.mirror("fashion-mnist") == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    monkeypatch.setenv("MINIGAN_FASHION_MNIST_MIRROR", "http://env")
    assert download.mirror("fashion-mnist") == "http://env/"
    assert download.mirror("fashion-mnist", "http://arg/") == "http://arg/"
    assert download.mirror("mnist") == "https://ossci-datasets.s3.amazonaws.com/mnist/"


def test_every_file_has_a_sha256():
    for _, digests in download.SOURCES.values():
        assert sorted(digests) == sorted(f"{p}-{k}-idx{d}-ubyte.gz" for p in ("train", "t10k")
                                         for k, d in (("images", 3), ("labels", 1)))
        assert all(len(h) == 64 and int(h, 16) >= 0 for hs in digests.values() for h in hs)


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Fashion-MNIST not installed")
def test_installed_fashion_mnist_files_pass_the_checksum():
    for name, accepted in download.SOURCES["fashion-mnist"][1].items():
        with open(os.path.join(FASHION, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() in accepted
