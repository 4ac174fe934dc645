"""minigan.save / minigan.load: exact round trips, atomic writes, and files that are not checkpoints."""
import io
import os
import pickle
import re
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import CheckpointError, backend
from minigan.optim import SGD, Adam


def assert_identical(loaded, saved):
    """Same types all the way down (a Tensor comes back as its array), same values bit for bit."""
    if isinstance(saved, minigan.Tensor):
        saved = saved.data
    if isinstance(saved, (np.ndarray, np.generic)):
        assert type(loaded) is type(saved) and loaded.dtype == saved.dtype and loaded.shape == saved.shape
        assert np.asarray(loaded).tobytes() == np.asarray(saved).tobytes()
    elif isinstance(saved, dict):
        assert type(loaded) is dict and list(loaded) == list(saved)
        assert all(type(k) is type(j) for k, j in zip(loaded, saved))
        for key in saved:
            assert_identical(loaded[key], saved[key])
    elif isinstance(saved, (list, tuple)):
        assert type(loaded) is type(saved) and len(loaded) == len(saved)
        for a, b in zip(loaded, saved):
            assert_identical(a, b)
    else:  # repr tells 1 from 1.0 from True, -0.0 from 0.0, and nan equals itself
        assert type(loaded) is type(saved) and repr(loaded) == repr(saved)


EVERYTHING = {
    "arrays": {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "f64": np.array([0.1, -0.0, np.nan, np.inf]),
               "i64": np.array([-(2 ** 62), 7]), "u8": np.array([[0, 255]], dtype=np.uint8),
               "bool": np.array([True, False]), "0-d": np.array(2.5), "empty": np.zeros((0, 3)),
               "strided": np.arange(12.0).reshape(3, 4).T, "text": np.array(["a", "ßb"])},
    "tensor": minigan.tensor(np.ones((2, 2))),
    "scalars": [0, -3, 2 ** 70, 0.1, -0.0, float("nan"), float("-inf"), 1e-310, True, False, None, "", "é/\"\\"],
    "numpy scalars": (np.float32(1.5), np.int64(-4), np.bool_(True)),
    7: {"int keys": {0: "zero", 1: [(), [], {}]}, "a/b": "slash", "__manifest__": "a user key"},
}


def test_round_trip_of_every_supported_type(tmp_path):
    minigan.save(EVERYTHING, tmp_path / "ckpt.npz")
    assert_identical(minigan.load(tmp_path / "ckpt.npz"), EVERYTHING)


leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
          | hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_side=3)))
trees = st.recursive(leaves, lambda children: st.lists(children, max_size=3)
                     | st.lists(children, max_size=3).map(tuple)
                     | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=3), max_leaves=12)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(trees)
def test_round_trip_of_any_tree(tmp_path, tree):
    minigan.save({"tree": tree}, tmp_path / "tree.npz")
    assert_identical(minigan.load(tmp_path / "tree.npz"), {"tree": tree})


def test_saves_to_exactly_the_path_given(tmp_path):
    minigan.save({"x": 1}, tmp_path / "checkpoint")
    assert os.listdir(tmp_path) == ["checkpoint"]
    assert minigan.load(str(tmp_path / "checkpoint")) == {"x": 1}


def make_model(seed):
    nn, generator = minigan.nn, minigan.Generator(seed)
    return nn.Sequential(nn.Linear(3, 8, generator=generator), nn.BatchNorm1d(8), nn.LeakyReLU(0.2),
                         nn.Linear(8, 1, generator=generator))


def train(model, opt, steps):
    for step in steps:  # batch ``step`` is the same whichever run trains on it
        x, y = (minigan.tensor(a.astype(np.float32)) for a in np.random.default_rng(step).normal(size=(2, 16, 3)))
        opt.zero_grad()
        minigan.nn.functional.mse_loss(model(x), y[:, :1]).backward()
        opt.step()


@pytest.mark.parametrize("cls, hyper", [(SGD, dict(lr=0.1, momentum=0.9)), (Adam, dict(lr=0.01, amsgrad=True))])
def test_model_and_optimizer_checkpoint_resumes_bitwise(tmp_path, cls, hyper):
    def optimizer(model):
        return cls([{"params": model[0].parameters(), "lr": 0.05}, {"params": model[1:].parameters()}], **hyper)

    straight = make_model(0)
    opt = optimizer(straight)
    train(straight, opt, range(3))
    minigan.save({"model": straight.state_dict(), "optim": opt.state_dict(), "step": 3}, tmp_path / "ckpt.npz")
    state = minigan.load(tmp_path / "ckpt.npz")
    assert_identical(state, {"model": straight.state_dict(), "optim": opt.state_dict(), "step": 3})
    resumed = make_model(1)
    resumed_opt = optimizer(resumed)
    resumed.load_state_dict(state["model"])
    resumed_opt.load_state_dict(state["optim"])
    train(straight, opt, range(3, 6))
    train(resumed, resumed_opt, range(3, 6))
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, interruption):
    path = tmp_path / "ckpt.npz"
    minigan.save({"epoch": 1, "w": np.arange(3.0)}, path)
    before = path.read_bytes()

    def write_half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half of a zip")
        raise interruption

    monkeypatch.setattr(np, "savez", write_half_then_fail)
    with pytest.raises(type(interruption)):
        minigan.save({"epoch": 2, "w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("value, where", [
    ({"a": [1, {2, 3}]}, r"state\['a'\]\[1\], a set"),
    ({"a": np.array([None, 1])}, r"state\['a'\] is an array of Python objects"),
    ({(1, 2): 3}, r"keys must be str or int, state has the key \(1, 2\)"),
    ({True: 3}, "keys must be str or int"),
    ({"f": print}, r"state\['f'\], a builtin_function_or_method"),
])
def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path, value, where):
    with pytest.raises(TypeError, match=where):
        minigan.save(value, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


class WritesAMarker:
    """Unpickling this creates the file ``marker``: the proof that a loader ran code from a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_the_pickle_payload_would_run_if_unpickled(tmp_path):
    """Keeps the next tests honest: the payload does write its marker when pickle loads it."""
    pickle.loads(pickle.dumps(WritesAMarker(tmp_path / "ran"))).close()
    assert (tmp_path / "ran").exists()


def write_checkpoint_then(change):
    def make(path):
        minigan.save({"w": np.arange(4096.0), "step": 3}, path)
        path.write_bytes(change(path.read_bytes()))
    return make


def write_with(save, *args, **kwargs):
    """``save(file, *args, **kwargs)`` into the file: np.save and np.savez, which pickle object arrays."""
    def make(path):
        with open(path, "wb") as f:
            save(f, *args, **kwargs)
    return make


def manifest(text):
    return np.array(text.replace("'", '"'))


def flip_a_byte(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


HEADER = "'format': 'minigan-checkpoint', 'version': 1"
ARRAY_0 = manifest(f"{{{HEADER}, 'tree': ['array', '0']}}")


def npz_with_a_pickled_object_array(path):
    write_with(np.savez, __manifest__=ARRAY_0,
               **{"0": np.array([WritesAMarker(path.parent / "ran")], dtype=object)})(path)


def npz_declaring(shape):
    """An .npz whose entry "0" has a .npy header for float64 ``shape`` and 8 bytes of data."""
    def make(path):
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("0.npy", header.getvalue() + bytes(8))
            manifest = io.BytesIO()
            np.save(manifest, ARRAY_0)
            archive.writestr("__manifest__.npy", manifest.getvalue())
    return make


def nested_manifest(depth):
    """A manifest whose tree is a list in a list ... ``depth`` times."""
    tree = '["list", [' * depth + "]]" * depth
    return write_with(np.savez, __manifest__=np.array('{"format": "minigan-checkpoint", "version": 1, "tree": '
                                                      + tree + "}"))


BAD_FILES = {  # what makes the file bad: (how to write it, what the error says)
    "truncated": (write_checkpoint_then(lambda data: data[: len(data) // 2]), "not a zip file"),
    "corrupt": (write_checkpoint_then(flip_a_byte), "Bad CRC"),
    "empty": (lambda path: path.write_bytes(b""), "not a minigan checkpoint (an empty file)"),
    "random bytes": (lambda path: path.write_bytes(np.random.default_rng(0).bytes(1000)), "not an .npz archive"),
    "npz without manifest": (write_with(np.savez, w=np.zeros(3)), "without a minigan manifest"),
    "manifest not JSON": (write_with(np.savez, __manifest__=manifest("{not json")), "JSONDecodeError"),
    "manifest a JSON list": (write_with(np.savez, __manifest__=manifest("[1, 2]")), "manifest starts"),
    "manifest of another format": (write_with(np.savez, __manifest__=manifest("{'format': 'x', 'version': 1}")),
                                   "manifest starts"),
    "manifest naming a missing array": (write_with(np.savez, __manifest__=ARRAY_0), "KeyError"),
    "malformed manifest": (write_with(np.savez, __manifest__=manifest(f"{{{HEADER}, 'tree': ['int', '3']}}")),
                           "expected int"),
    "a single npy": (write_with(np.save, np.zeros(3)), "single .npy"),
    "pickled object array in an npz": (npz_with_a_pickled_object_array, "entry '0' holds Python objects"),
    "a pickle": (lambda path: path.write_bytes(pickle.dumps(WritesAMarker(path.parent / "ran"))),
                 "not an .npz archive"),
    "compressed entry larger than the file": (write_with(np.savez_compressed, __manifest__=ARRAY_0,
                                                         **{"0": np.zeros(1 << 20)}), "more than the whole file"),
    "npy header declaring a huge array": (npz_declaring(shape=(10 ** 12,)), "declares an array (1000000000000,)"),
    "npy header declaring too few bytes": (npz_declaring(shape=(0,)), "it holds 8 bytes"),
    "manifest nested beyond the JSON decoder": (nested_manifest(100_000), "nested too deeply"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_files_that_are_not_checkpoints_raise_checkpoint_error(tmp_path, kind):
    path, (write, reason) = tmp_path / "bad.npz", BAD_FILES[kind]
    write(path)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*" + re.escape(reason)) as error:
        minigan.load(path)
    assert not (tmp_path / "ran").exists(), "loading ran code from the file"
    assert "allow_pickle" not in str(error.value)  # NumPy's advice to unpickle a file is not ours to give


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        minigan.load(tmp_path / "nothing.npz")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError) and minigan.serialize.CheckpointError is CheckpointError


@pytest.mark.gpu
@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_cuda_arrays_are_saved_as_numpy_and_loaded_onto_a_device(tmp_path):
    w = minigan.tensor(np.arange(6.0).reshape(2, 3), device="cuda")
    minigan.save({"w": w, "raw": w.data}, tmp_path / "gpu.npz")
    on_cpu, on_gpu = minigan.load(tmp_path / "gpu.npz"), minigan.load(tmp_path / "gpu.npz", device="cuda")
    assert isinstance(on_cpu["w"], np.ndarray) and backend.device_of(on_gpu["raw"]) == "cuda"
    np.testing.assert_array_equal(on_cpu["raw"], w.numpy())
    np.testing.assert_array_equal(on_gpu["w"].get(), w.numpy())


def test_a_directory_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=re.escape(str(tmp_path)) + ": a directory"):
        minigan.load(tmp_path)
    with pytest.raises(CheckpointError, match=re.escape(str(tmp_path)) + ": a directory"):
        minigan.save({"x": 1}, tmp_path)


def test_saving_into_a_missing_folder_names_the_target_not_a_temporary(tmp_path):
    target = tmp_path / "missing" / "ckpt.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(f"cannot write {target}: the folder")) as error:
        minigan.save({"x": 1}, target)
    assert ".tmp" not in str(error.value)


def test_a_save_removes_what_killed_saves_of_the_same_file_left_and_nothing_else(tmp_path):
    path = tmp_path / "ckpt.npz"
    for debris in (".ckpt.npz.0123abcd.tmp", ".ckpt.npz.deadbeef.tmp"):  # as a save killed by SIGKILL leaves them
        (tmp_path / debris).write_bytes(b"PK\x03\x04 half a checkpoint")
    others = [".ckpt.npz.x.deadbeef.tmp", ".other.npz.deadbeef.tmp", ".ckpt.npz.deadbeef.tmp.keep", "notes.txt"]
    for name in others:
        (tmp_path / name).write_text("not ours")
    minigan.save({"x": 1}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", *others])


def test_a_temporary_that_a_living_writer_holds_is_left_alone(tmp_path):
    path = tmp_path / "ckpt.npz"
    with minigan.files.atomic_write(path) as writing:  # another save of the same file, still writing
        writing.write(b"half")
        minigan.save({"x": 1}, path)
        assert len(minigan.files.temporaries(path)) == 1 and minigan.load(path) == {"x": 1}
    assert minigan.files.temporaries(path) == [] and path.read_bytes() == b"half"  # the last rename wins
