import itertools

import numpy as np
import pytest

import minigan
from minigan import backend
from minigan.backend import cuda_available
from minigan.data import DataLoader, infinite
from minigan.random import Generator


def data(n=23):
    return np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32), np.arange(n, dtype=np.int64)


def rows(batches):
    return [b[1].numpy().tolist() for b in batches]


def test_each_row_once_per_epoch_and_arrays_stay_aligned():
    x, y = data()
    loader = DataLoader((x, y), batch_size=5, drop_last=False, generator=Generator(0))
    assert len(loader) == 5
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [5, 5, 5, 5, 3]
    assert all(isinstance(t, minigan.Tensor) and t.device == "cpu" and not t.requires_grad for b in batches for t in b)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(seen.tolist()) == list(range(23)) and seen.tolist() != list(range(23))
    for bx, by in batches:
        np.testing.assert_array_equal(bx.numpy()[:, 0], by.numpy())


def test_drop_last_seeds_and_epochs():
    x, y = data()
    first = rows(DataLoader((x, y), 5, generator=Generator(7)))
    assert len(first) == 4 and all(len(r) == 5 for r in first)
    loader = DataLoader((x, y), 5, generator=Generator(7))
    assert rows(loader) == first and loader.epoch == 1
    assert rows(loader) != first  # the next epoch is another permutation
    assert rows(DataLoader((x, y), 5, generator=Generator(8))) != first
    assert rows(DataLoader((x, y), 5, shuffle=False)) == [list(range(i, i + 5)) for i in range(0, 20, 5)]


def test_default_generator_is_seeded_by_manual_seed():
    x, y = data()
    minigan.manual_seed(3)
    a = rows(DataLoader((x, y), 4))
    minigan.manual_seed(3)
    assert rows(DataLoader((x, y), 4)) == a


@pytest.mark.parametrize("stop", [0, 1, 3, 4, 6, 9])
def test_resume_mid_epoch_gives_the_same_batches(stop):
    x, y = data()
    reference = rows(itertools.islice(infinite(DataLoader((x, y), 5, generator=Generator(1))), 12))
    first = DataLoader((x, y), 5, generator=Generator(1))
    head = rows(itertools.islice(infinite(first), stop))
    state = {k: np.asarray(v) for k, v in first.state_dict().items()}  # as a checkpoint (.npz) would give it back
    resumed = DataLoader((x, y), 5, generator=Generator(99))
    resumed.load_state_dict(state)
    assert resumed.epoch == stop // 4 and resumed.batch == stop % 4
    assert resumed.state_dict() == first.state_dict()  # a checkpoint taken right after resuming is the same one
    assert head + rows(itertools.islice(infinite(resumed), 12 - stop)) == reference


def test_infinite_crosses_epochs():
    x, y = data(10)
    loader = DataLoader((x, y), 3, generator=Generator(0))
    batches = list(itertools.islice(infinite(loader), 7))
    assert len(batches) == 7 and loader.epoch == 2


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("fits", [True, False])
def test_on_the_gpu_the_cpu_batches_with_one_copy_an_epoch(monkeypatch, fits):
    """Arrays that fit are copied to the GPU once, and each epoch's permutation once: a batch costs no copy
    from the host. Arrays that do not fit are gathered on the host and moved a batch at a time. Either way the
    batches, and a resumed loader's, are the CPU loader's."""
    x, y = data()
    reference = rows(itertools.islice(infinite(DataLoader((x, y), 5, generator=Generator(1))), 10))
    moved, to_device = [], backend.to_device

    def counting(a, device):
        if device == "cuda" and backend.device_of(a) == "cpu":
            moved.append(a.shape)
        return to_device(a, device)
    monkeypatch.setattr(backend, "to_device", counting)
    if not fits:
        monkeypatch.setattr(backend, "free_memory", lambda device: 0)
    loader = DataLoader((x, y), 5, generator=Generator(1), device="cuda")
    batches = list(itertools.islice(infinite(loader), 6))  # the 4 batches of an epoch, 2 of the next
    assert moved == ([(23, 3), (23,), (23,), (23,)] if fits else [(5, 3), (5,)] * 6)
    assert all(t.device == "cuda" for b in batches for t in b)
    resumed = DataLoader((x, y), 5, generator=Generator(99), device="cuda")
    resumed.load_state_dict(loader.state_dict())
    assert rows(batches) + rows(itertools.islice(infinite(resumed), 4)) == reference


def test_bad_arguments():
    x, y = data()
    with pytest.raises(ValueError, match="one length"):
        DataLoader((x, y[:-1]), 4)
    with pytest.raises(ValueError, match="no batch"):
        DataLoader((x, y), 24)
    with pytest.raises(ValueError, match="DataLoader: batch_size must be at least 1, got 0"):
        DataLoader((x, y), 0, drop_last=False)
    with pytest.raises(ValueError, match="device"):
        DataLoader((x, y), 4, device="tpu")


@pytest.mark.parametrize("make, error, message", [
    (lambda x, y: DataLoader((x, y), 4.0), TypeError, "DataLoader: batch_size must be an int, got 4.0"),
    (lambda x, y: DataLoader((x, y), 4, generator=0), TypeError,
     r"DataLoader: generator must be a minigan.Generator or None, got 0 \(for a seed, pass generator=Generator\(0\)\)"),
    (lambda x, y: DataLoader(x, 4), TypeError,
     r"got a single array of shape \(23, 3\) \(for one array, pass the tuple \(array,\)\)"),
    (lambda x, y: DataLoader((x, list(y)), 4), TypeError, "arrays must be a tuple of NumPy or CuPy arrays"),
    (lambda x, y: DataLoader((x, y[0]), 4), TypeError, "with a batch axis"),
    (lambda x, y: DataLoader((x, y), 4, shuffle="no"), TypeError, "DataLoader: shuffle must be True or False"),
])
def test_wrong_types_are_refused_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make(*data())
