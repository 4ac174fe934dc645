import itertools

import numpy as np
import pytest

from minigan.data import toy2d
from minigan.random import Generator


def distances(a, b):
    return np.linalg.norm(a[:, None].astype(np.float64) - b[None], axis=-1)


def test_ring_has_8_distinct_centres_evenly_spaced_on_the_unit_circle():
    ring = toy2d.get("ring")
    assert ring.centers.shape == (8, 2) and ring.std == 0.01
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 1.0, rtol=1e-6)
    d = distances(ring.centers, ring.centers)
    assert d[~np.eye(8, dtype=bool)].min() > 0.7  # 8 distinct centres, chord 2 sin(pi/8) = 0.765 apart
    np.testing.assert_allclose(np.diag(d, 1), 2 * np.sin(np.pi / 8), rtol=1e-6)


def test_grid_is_25_centres_on_minus4_to_4_step_2():
    grid = toy2d.get("grid")
    expected = set(itertools.product((-4.0, -2.0, 0.0, 2.0, 4.0), repeat=2))
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    assert set(map(tuple, grid.centers.tolist())) == expected


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_samples_are_float32_seeded_and_follow_the_mixture(name):
    mixture = toy2d.get(name)
    x = mixture.sample(20_000, Generator(1))
    assert x.shape == (20_000, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x, mixture.sample(20_000, Generator(1)))
    assert not np.array_equal(x, mixture.sample(20_000, Generator(2)))
    d = distances(x, mixture.centers)
    nearest = d.argmin(1)
    offsets = x - mixture.centers[nearest]
    np.testing.assert_allclose(offsets.std(0), mixture.std, rtol=0.03)  # 20k draws: ~0.5% sampling error
    k = len(mixture.centers)
    counts = np.bincount(nearest, minlength=k)
    expected = len(x) / k
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))  # equal weights


def test_centres_are_read_only_and_unknown_names_are_refused():
    with pytest.raises(ValueError):
        toy2d.get("ring").centers[0, 0] = 5.0
    with pytest.raises(ValueError, match="grid.*ring"):
        toy2d.get("spiral")
