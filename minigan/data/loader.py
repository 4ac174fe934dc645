"""Seeded, resumable minibatches of in-memory arrays.

    loader = DataLoader((images, labels), batch_size=64, generator=Generator(0), device="cuda")
    for x, y in loader:          # one epoch; x, y are minigan Tensors on the device
        ...
    state = loader.state_dict()  # save with the checkpoint; load_state_dict(state) resumes mid-epoch

Each batch is gathered with its slice of the epoch's permutation. On a GPU the arrays
are copied there once, at the first batch, when they take at most half of its free
memory, and so is each epoch's permutation: a batch is then gathered on the device,
with no copy from the host (else each batch is gathered where the arrays are, then
moved). The loader draws only the permutations, from its own generator, so it can
restore that generator exactly on resume; the order is the same on either device.
"""
import functools

import numpy as np

from .. import backend, checks
from ..random import Generator, default_generator
from ..tensor import Tensor


class DataLoader:
    """Batches of the same rows of every array in ``arrays``, as tuples of Tensors on ``device``.

    ``generator``: the loader's own ``minigan.Generator`` (give it a seed). When None, one is
    seeded from ``default_generator`` once, here, so ``manual_seed`` still fixes the order.
    Iterating continues the current epoch from where it stopped; a new epoch begins when one ends.
    """

    def __init__(self, arrays, batch_size, shuffle=True, drop_last=True, generator=None, device="cpu"):
        if not isinstance(arrays, (tuple, list)) or not all(
                (isinstance(a, np.ndarray) or backend.is_cupy_array(a)) and a.ndim >= 1 for a in arrays):
            raise TypeError(f"DataLoader: arrays must be a tuple of NumPy or CuPy arrays with a batch axis, such as "
                            f"(images,) or (images, labels); got {_describe(arrays)}")
        self.arrays = tuple(arrays)
        lengths = {len(a) for a in self.arrays}
        if not self.arrays or len(lengths) != 1:
            raise ValueError(f"DataLoader: expected arrays of one length, got shapes "
                             f"{[tuple(a.shape) for a in self.arrays]}")
        self.n = lengths.pop()
        batch_size = checks.integer("DataLoader", "batch_size", batch_size, minimum=1)
        if drop_last and batch_size > self.n:
            raise ValueError(f"DataLoader: batch_size {batch_size} for {self.n} rows gives no batch")
        self.batch_size = batch_size
        self.shuffle, self.drop_last = (checks.boolean("DataLoader", name, value)
                                        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)))
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a minigan.Generator or None, got {generator!r} "
                            f"(for a seed, pass generator=Generator({generator!r}))")
        self.generator = generator or Generator(int(default_generator.integers(0, 2**63 - 1)))
        self.device = backend.check_device(device)
        self.epoch, self.batch = 0, 0
        self._order, self._epoch_state = None, None

    def __len__(self):
        """Batches per epoch."""
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self):
        order = self._order if self._order is not None else self._new_order()
        arrays = self._resident
        if all(backend.device_of(a) == self.device for a in arrays):
            order = backend.to_device(order, self.device)  # one copy an epoch; each batch's rows are a view of it
        while self.batch < len(self):
            rows = order[self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
            self.batch += 1
            yield tuple(Tensor(backend.to_device(_take(a, rows), self.device)) for a in arrays)
        self.epoch, self.batch, self._order = self.epoch + 1, 0, None

    @functools.cached_property
    def _resident(self):
        """The arrays moved to the loader's device once (at the first batch) when those not there yet take at
        most half of its free memory; else ``self.arrays`` as given."""
        moving = sum(a.nbytes for a in self.arrays if backend.device_of(a) != self.device)
        if moving and moving > backend.free_memory(self.device) / 2:
            return self.arrays
        return tuple(backend.to_device(a, self.device) for a in self.arrays)

    def _new_order(self):
        """This epoch's permutation; the generator state before it is what a checkpoint stores."""
        self._epoch_state = self.generator.get_state()
        self._order = self.generator.permutation(self.n) if self.shuffle else np.arange(self.n)
        return self._order

    def state_dict(self):
        """Epoch, batches already yielded in it, and the generator state that draws its permutation."""
        if self._order is None or self.batch == len(self):  # between epochs: the next permutation is still to draw
            finished = self._order is not None  # the last batch went out; __iter__ closes the epoch on its next call
            return {"epoch": self.epoch + finished, "batch": 0, "generator": self.generator.get_state()}
        return {"epoch": self.epoch, "batch": self.batch, "generator": self._epoch_state}

    def load_state_dict(self, state):
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self.generator.set_state(str(state["generator"]))
        self._new_order()


def _describe(arrays):
    if hasattr(arrays, "shape"):
        return f"a single array of shape {tuple(arrays.shape)} (for one array, pass the tuple (array,))"
    return repr(arrays)[:80]


def _take(array, rows):
    """array[rows] on the array's own device."""
    return array[backend.array_module(array).asarray(rows)]


def infinite(loader):
    """Batches forever, epoch after epoch, for step-based training (resumable through ``loader``)."""
    while True:
        yield from loader
