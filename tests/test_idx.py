import gzip
import os
import re
import struct

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from minigan.data import download, idx
from minigan.data.idx import IDXError, load_mnist, read_idx, write_idx

FASHION = "/usr/share/datasets/fashion-mnist"


def test_read_idx_parses_a_hand_built_file(tmp_path):
    path = tmp_path / "x-idx2-ubyte"
    path.write_bytes(struct.pack(">BBBBII", 0, 0, 0x08, 2, 2, 3) + bytes(range(6)))
    np.testing.assert_array_equal(read_idx(path), [[0, 1, 2], [3, 4, 5]])
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 0x0B, 1, 2) + struct.pack(">hh", -2, 300))
    got = read_idx(path)
    assert got.dtype == np.int16 and got.dtype.isnative
    np.testing.assert_array_equal(got, [-2, 300])


@given(dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
       shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), gz=st.booleans(), data=st.data())
def test_write_then_read_round_trips(tmp_path_factory, dtype, shape, gz, data):
    x = data.draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False)))
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if gz else "a")
    write_idx(path, x)
    got = read_idx(path)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, x)


def corrupt_files():
    good = struct.pack(">BBBBII", 0, 0, 0x08, 2, 2, 3) + bytes(6)
    return {
        "truncated data": good[:-1],
        "trailing bytes": good + b"\0",
        "wrong magic": b"\x01" + good[1:],
        "unknown dtype": good[:2] + b"\x07" + good[3:],
        "short header": good[:6],
        "no header": b"\0\0",
        "truncated gzip": gzip.compress(good)[:-6],
    }


@pytest.mark.parametrize("kind", list(corrupt_files()))
def test_corrupt_files_raise_an_error_naming_the_file(tmp_path, kind):
    path = tmp_path / f"bad-{kind.replace(' ', '-')}"
    path.write_bytes(corrupt_files()[kind])
    with pytest.raises(IDXError, match=re.escape(str(path))):
        read_idx(path)


def write_split(directory, prefix, images, labels, gz=True):
    os.makedirs(directory, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{ext}"), images)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{ext}"), labels)


@pytest.fixture
def no_data_dirs(tmp_path, monkeypatch):
    """Every lookup location points inside tmp_path and is empty."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINIGAN_DATA", raising=False)
    monkeypatch.setattr(idx, "SYSTEM_DIR", str(tmp_path / "system"))
    return tmp_path


def test_splits_and_scales(no_data_dirs):
    rng = np.random.default_rng(0)
    n = idx.VALIDATION_SIZE + 7
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[0, 0, :2] = [0, 255]
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    write_split(no_data_dirs / "d", "train", images, labels, gz=False)
    x, y = load_mnist("mnist", "train", data_dir=no_data_dirs / "d", download=False)
    assert x.shape == (7, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0], images[:7] / 127.5 - 1, rtol=1e-6, atol=1e-6)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 0, 1] == 1.0
    np.testing.assert_array_equal(y, labels[:7])
    x, y = load_mnist("mnist", "val", data_dir=no_data_dirs / "d", scale="unit", download=False)
    assert x.shape == (idx.VALIDATION_SIZE, 1, 28, 28)
    np.testing.assert_allclose(x[:, 0], images[7:] / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels[7:])


def test_lookup_order_data_dir_then_env_then_cache_then_system(no_data_dirs, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA", str(no_data_dirs / "env"))
    places = [no_data_dirs / "arg", no_data_dirs / "env" / "mnist", no_data_dirs / "home" / ".cache" / "minigan" /
              "mnist", no_data_dirs / "system" / "mnist"]
    for i, place in enumerate(places):  # each place holds test files whose labels say which place it is
        write_split(place, "t10k", np.zeros((2, 28, 28), np.uint8), np.full(2, i, np.uint8))
    for i, place in enumerate(places):
        _, y = load_mnist("mnist", "test", data_dir=no_data_dirs / "arg" if i == 0 else None, download=False)
        assert y[0] == i
        for f in os.listdir(place):
            os.remove(place / f)


def test_missing_files_without_download_say_where_to_put_them(no_data_dirs):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist("fashion-mnist", "test", download=False)
    message = str(e.value)
    assert all(f in message for f in download.SOURCES["fashion-mnist"][1]) and "MINIGAN_DATA" in message
    assert "--data-dir" in message
    assert str(no_data_dirs / "home" / ".cache" / "minigan" / "fashion-mnist") in message


IMAGES = np.zeros((3, 28, 28), np.uint8)
LABELS = np.zeros(3, np.uint8)
NOT_MNIST = {  # what is wrong: (images, labels, the file named, what the error says)
    "fewer labels than images": (IMAGES, LABELS[:2], "labels",
                                 r"shape \(3,\), 1 to 10000 items; the header says \(2,\)"),
    "images not 28x28": (IMAGES[:, :, :27], LABELS, "images", r"shape \(N, 28, 28\).*\(3, 28, 27\)"),
    "images not uint8": (IMAGES.astype(np.int16), LABELS, "images", "of int16"),
    "labels of two dims": (IMAGES, LABELS[:, None], "labels", r"\(3, 1\)"),
    "a label out of range": (IMAGES, np.array([0, 9, 10], np.uint8), "labels", "holds label 10; MNIST's labels are 0"),
    "more images than MNIST's test set": (np.zeros((10_001, 28, 28), np.uint8), np.zeros(10_001, np.uint8), "images",
                                          "1 to 10000 items"),
}


@pytest.mark.parametrize("kind", list(NOT_MNIST))
def test_files_that_are_not_mnist_are_refused_naming_the_file(no_data_dirs, kind):
    images, labels, named, message = NOT_MNIST[kind]
    write_split(no_data_dirs / "d", "t10k", images, labels)
    path = no_data_dirs / "d" / f"t10k-{named}-idx{images.ndim if named == 'images' else 1}-ubyte.gz"
    with pytest.raises(IDXError, match=re.escape(str(path)) + ".*" + message):
        load_mnist("mnist", "test", data_dir=no_data_dirs / "d", download=False)


def test_a_train_split_needs_more_images_than_the_validation_split_takes(no_data_dirs):
    write_split(no_data_dirs / "d", "train", IMAGES, LABELS)
    with pytest.raises(IDXError, match="3 training images; the train split needs more than the 10000"):
        load_mnist("mnist", "train", data_dir=no_data_dirs / "d", download=False)


def test_a_header_declaring_more_than_allowed_is_refused_before_its_data_is_inflated(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(struct.pack(">BBBBII", 0, 0, 0x08, 2, 1 << 31, 1 << 31) + bytes(1 << 20)))
    with pytest.raises(IDXError, match=re.escape(str(path)) + r": its header declares 4611686018427387904 bytes"):
        read_idx(path)


def test_a_gzip_holding_more_than_its_header_declares_is_inflated_no_further(tmp_path, monkeypatch):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 0x08, 1, 4) + bytes(100 << 20)))  # 100 MB of zeros
    reads = []
    read = gzip.GzipFile.read
    monkeypatch.setattr(gzip.GzipFile, "read", lambda self, n=-1: reads.append(n) or read(self, n))
    with pytest.raises(IDXError, match=re.escape(str(path)) + ".*the file holds more than that"):
        read_idx(path)
    assert reads == [4, 4, 5]  # the magic number, the one dim, then 4 bytes of data and one more


@pytest.mark.parametrize("kwargs", [dict(name="cifar"), dict(split="valid"), dict(scale="sigmoid")])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=str(list(kwargs.values())[0])):
        load_mnist(**{"name": "mnist", **kwargs})


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Fashion-MNIST not installed")
def test_real_fashion_mnist_test_split():
    x, y = load_mnist("fashion-mnist", "test", data_dir=FASHION, download=False)
    assert x.shape == (10_000, 1, 28, 28) and x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))  # Fashion-MNIST's test set is balanced
