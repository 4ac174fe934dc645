"""The pictures of a run, drawn with Pillow alone: scatter plots, loss curves, line plots and their ticks."""
import sys

import numpy as np
import pytest
from PIL import Image

from minigan.gan import plots


@pytest.fixture(autouse=True)
def no_matplotlib(monkeypatch):
    """As in the base install: ``import matplotlib`` fails."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_ticks_are_round_numbers_inside_the_range():
    np.testing.assert_allclose(plots.ticks(100, 12000), [2000, 4000, 6000, 8000, 10000, 12000])
    np.testing.assert_allclose(plots.ticks(-1.7, 1.7), [-1.5, -1, -0.5, 0, 0.5, 1, 1.5])
    assert plots.limits([3.0, 3.0]) == (2.0, 4.0) and plots.limits([0, 10], 0) == (0, 10)


def test_the_scatter_marks_every_mode_where_the_axes_put_it(tmp_path):
    centers = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    plots.scatter(centers + 0.3, centers, tmp_path / "s.png", "three modes")
    image = np.asarray(Image.open(tmp_path / "s.png").convert("RGB")).astype(int)
    assert image.shape == (500, 500, 3)
    _, draw, (box,) = plots.figure(500, 500, 1)
    panel = plots.Panel(draw, box, (-1.7, 1.7), (-0.7, 1.7))  # the centres' span, 0.25 of it + 0.2 either side
    for x, y in panel.pixels(centers[:, 0], centers[:, 1]):
        near = image[round(y) - 1:round(y) + 2, round(x) - 1:round(x) + 2]
        assert np.abs(near - plots.COLORS[3]).max(axis=2).min() < 60  # a red cross on each mode


def test_loss_curves_and_line_plots_are_drawn_without_matplotlib(tmp_path):
    records = [{"step": s, "loss_d": 1.0 + s / 1000, "loss_g": 0.7, "d_real": 0.6, "d_fake": 0.4}
               for s in range(100, 1001, 100)]
    plots.loss_curves(records, tmp_path / "losses.png")
    plots.curves(np.linspace(-3, 3, 61), {"a": np.zeros(61), "b": np.ones(61)}, tmp_path / "c.png", "x", "t")
    for name, size in (("losses.png", (1000, 400)), ("c.png", (600, 400))):
        image = np.asarray(Image.open(tmp_path / name).convert("RGB")).astype(int)
        assert image.shape[1::-1] == size
        for color in plots.COLORS[:2]:  # both lines are there
            assert (np.abs(image - color).max(axis=2) < 30).sum() > 100, (name, color)
