"""Latent-space tools: interpolation (straight and spherical), vector arithmetic, filter grids, and their commands."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from minigan.cli import main
from minigan.gan import Run, Trainer, latent
from minigan.testing import float_arrays
from test_dcgan import stripes, tiny_config


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    Trainer(tiny_config(stripes(tmp_path_factory.mktemp("stripes")), steps=4), path, quiet=True).fit()
    return Run(path)


pairs = st.integers(1, 3).flatmap(lambda r: st.tuples(*[float_arrays((r, 5), -3, 3, np.float64)] * 2))


@given(pairs)
def test_both_walks_start_and_end_at_the_endpoints(z):
    z0, z1 = z
    norms = np.linalg.norm(z0, axis=1) * np.linalg.norm(z1, axis=1)
    assume(np.all(np.abs((z0 * z1).sum(1)) < 0.999 * norms))  # (anti)parallel ends: refused, tested below
    t = np.linspace(0, 1, 4)
    for walk in (latent.lerp, latent.slerp):
        path = walk(z0, z1, t)
        np.testing.assert_allclose(path[:, 0], z0, atol=1e-9)
        np.testing.assert_allclose(path[:, -1], z1, atol=1e-9)


def test_slerp_keeps_the_norm_where_lerp_sags_and_stays_on_the_plane_of_its_ends():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 6, 100))
    z1 *= (np.linalg.norm(z0, axis=1) / np.linalg.norm(z1, axis=1))[:, None]  # equal norms
    t = np.linspace(0, 1, 9)
    on_circle, straight = latent.slerp(z0, z1, t), latent.lerp(z0, z1, t)
    norms = np.linalg.norm(z0, axis=1)[:, None]
    np.testing.assert_allclose(np.linalg.norm(on_circle, axis=2), np.repeat(norms, 9, axis=1), rtol=1e-10)
    assert (np.linalg.norm(straight[:, 4], axis=1) < 0.8 * norms[:, 0]).all()  # the midpoint of two ~orthogonal z
    coefficients = np.linalg.lstsq(np.stack([z0[0], z1[0]], 1), on_circle[0].T, rcond=None)[0]
    np.testing.assert_allclose(np.stack([z0[0], z1[0]], 1) @ coefficients, on_circle[0].T, atol=1e-9)


def test_slerp_refuses_parallel_endpoints():
    z = np.ones((1, 3))
    with pytest.raises(ValueError, match="parallel"):
        latent.slerp(z, 2 * z, np.linspace(0, 1, 3))


@pytest.mark.parametrize("spherical", [False, True])
def test_interpolation_rows_end_at_the_endpoint_samples(run, spherical):
    rows = latent.interpolate(run, rows=3, steps=5, seed=7, spherical=spherical)
    assert rows.shape == (3, 5, 3, 16, 16)
    ends = latent.generate(run, latent.noise(run, 6, seed=7))  # the same draws: z0 for rows 0-2, then z1
    np.testing.assert_allclose(rows[:, 0], ends[:3], atol=1e-5)
    np.testing.assert_allclose(rows[:, -1], ends[3:], atol=1e-5)


def test_vector_arithmetic_averages_each_concept_and_jitters_the_result(run):
    z = latent.noise(run, 10, seed=1)
    a, b, c, result = latent.vector_arithmetic(run, z, a=[0, 1], b=[2], c=[2, 3], n_results=4)
    assert [len(r) for r in (a, b, c, result)] == [3, 2, 3, 4]
    np.testing.assert_allclose(a[:2], latent.generate(run, z[:2]), atol=1e-5)
    np.testing.assert_allclose(a[2], latent.generate(run, z[:2].mean(0, keepdims=True))[0], atol=1e-5)
    y = z[:2].mean(0) - z[2] + z[2:4].mean(0)
    np.testing.assert_allclose(result[0], latent.generate(run, y[None])[0], atol=1e-5)
    assert not np.allclose(result[1], result[0])


def test_the_commands_write_the_grid_the_gif_and_the_filters(run, tmp_path, capsys):
    png, gif, filters = tmp_path / "walk.png", tmp_path / "walk.gif", tmp_path / "filters.png"
    assert main(["interpolate", run.path, "--out", str(png), "--gif", str(gif), "--rows", "2", "--steps", "4",
                 "--slerp"]) == 0
    assert Image.open(png).size == (4 * 18 + 2, 2 * 18 + 2)  # 16-px tiles with 2-px borders
    assert Image.open(gif).n_frames == 2 * 4 - 2  # there and back
    assert main(["filters", run.path, "--out", str(filters)]) == 0
    # D's 4 first-layer filters, a gray row, G's 4 last-layer filters: 3 rows of 4 tiles, 4x4 filters zoomed 8x
    assert Image.open(filters).size == (4 * 34 + 2, 3 * 34 + 2)


def test_filters_of_a_run_without_convolutions_are_refused(tmp_path, capsys):
    assert main(["train", "--steps", "1", "--out", str(tmp_path / "mlp"), "--quiet"]) == 0
    assert main(["filters", str(tmp_path / "mlp"), "--out", str(tmp_path / "f.png")]) == 1
    assert "no convolutions" in capsys.readouterr().err
