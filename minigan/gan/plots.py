"""Pictures of a run, drawn with Pillow: image grids, scatter plots of 2D samples, and line plots (the losses).

    image_grid(images, "samples.png")                        # (N, C, H, W) in [-1, 1], 8 to a row
    scatter(points, centers, "samples.png", "ring, step 2000")
    curves(x, {"D(x)": d, "D*(x)": d_star}, "d.png", xlabel="x", title="the optimal discriminator")
"""
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import backend

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]
GRAY, BLACK, WHITE = (128, 128, 128), (0, 0, 0), (255, 255, 255)
MARGIN = (60, 40, 20, 45)  # pixels left, top, right, bottom of a panel's axes box (tick labels, title, x label)


def image_grid(images, path, nrow=8, padding=2):
    """Save images (N, C, H, W) with values in [-1, 1] as one PNG, ``nrow`` to a row."""
    x = np.clip((backend.to_numpy(images) + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    n, c, h, w = x.shape
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    x = np.pad(x, ((0, rows * ncol - n), (0, 0), (padding, 0), (padding, 0)))  # each tile gets a top-left border
    h, w = h + padding, w + padding
    grid = x.reshape(rows, ncol, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, rows * h, ncol * w)  # c (r h) (q w)
    grid = np.pad(grid, ((0, 0), (0, padding), (0, padding)))
    Image.fromarray(grid[0] if c == 1 else grid.transpose(1, 2, 0)).save(path)


def ticks(low, high, n=5):
    """About ``n`` round numbers (1, 2 or 5 times a power of ten apart) within [low, high]."""
    raw = (high - low) / n
    power = 10.0 ** math.floor(math.log10(raw))
    step = power * min((1, 2, 5, 10), key=lambda m: abs(m * power - raw))
    return np.arange(math.ceil(low / step), math.floor(high / step) + 1) * step


def limits(values, pad=0.05):
    """(low, high) around the finite ``values``, widened by ``pad`` of their range (or by 1 if flat)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    spread = (high - low) * pad if high > low else 1.0
    return low - spread, high + spread


class Panel:
    """An axes box at ``box`` (left, top, right, bottom pixels) of a Pillow drawing, showing data in
    ``xlim`` x ``ylim``: a frame, round-number ticks, a title, lines, points and a legend."""

    def __init__(self, draw, box, xlim, ylim, title="", xlabel=""):
        self.draw, self.box, self.xlim, self.ylim, self.legend_entries, self.drawn = draw, box, xlim, ylim, [], []
        self.font = ImageFont.load_default(12)
        left, top, right, bottom = box
        draw.rectangle(box, outline=BLACK)
        for value in ticks(*xlim):
            x = self.pixels([value], [ylim[0]])[0][0]
            draw.line([(x, bottom), (x, bottom + 4)], fill=BLACK)
            draw.text((x, bottom + 6), f"{value:g}", fill=BLACK, font=self.font, anchor="ma")
        for value in ticks(*ylim):
            y = self.pixels([xlim[0]], [value])[0][1]
            draw.line([(left - 4, y), (left, y)], fill=BLACK)
            draw.text((left - 6, y), f"{value:g}", fill=BLACK, font=self.font, anchor="rm")
        draw.text(((left + right) / 2, top - 8), title, fill=BLACK, font=self.font, anchor="md")
        draw.text(((left + right) / 2, bottom + 24), xlabel, fill=BLACK, font=self.font, anchor="ma")

    def pixels(self, x, y):
        """Data points -> pixel coordinates [(px, py), ...] (y grows upwards in the data, downwards in pixels)."""
        (left, top, right, bottom), (x0, x1), (y0, y1) = self.box, self.xlim, self.ylim
        px = left + (np.asarray(x, np.float64) - x0) / (x1 - x0) * (right - left)
        py = bottom - (np.asarray(y, np.float64) - y0) / (y1 - y0) * (bottom - top)
        return list(zip(px.tolist(), py.tolist()))

    def inside(self, points):
        left, top, right, bottom = self.box
        return [(x, y) for x, y in points if left <= x <= right and top <= y <= bottom]

    def line(self, x, y, color, label=None):
        points = self.pixels(x, y)
        self.draw.line(points, fill=color, width=2)
        self.drawn += points
        self.legend_entries.append((label, color))

    def points(self, x, y, color, label=None, radius=2, alpha=100):
        self.drawn += self.inside(self.pixels(x, y))
        for px, py in self.inside(self.pixels(x, y)):
            self.draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=color + (alpha,))
        self.legend_entries.append((label, color))

    def crosses(self, x, y, color, label=None, size=6):
        for px, py in self.inside(self.pixels(x, y)):
            self.draw.line([(px - size, py - size), (px + size, py + size)], fill=color)
            self.draw.line([(px - size, py + size), (px + size, py - size)], fill=color)
        self.legend_entries.append((label, color))

    def hline(self, y, color=GRAY):
        (left, py), (right, _) = self.pixels(self.xlim, [y, y])
        self.draw.line([(left, py), (right, py)], fill=color)

    def legend(self):
        """The labelled entries, each after a swatch of its colour, in the corner of the box that hides the
        fewest of the points drawn."""
        entries = [(label, color) for label, color in self.legend_entries if label]
        width = max(self.draw.textlength(label, font=self.font) for label, _ in entries) + 24
        height = 16 * len(entries) + 4
        left, top, right, bottom = self.box
        corners = [(x, y) for y in (top + 8, bottom - 8 - height) for x in (right - 8 - width, left + 8)]
        x0, y0 = min(corners, key=lambda c: sum(c[0] <= px <= c[0] + width and c[1] <= py <= c[1] + height
                                                for px, py in self.drawn))
        self.draw.rectangle([x0, y0, x0 + width, y0 + height], fill=WHITE, outline=GRAY)
        for i, (label, color) in enumerate(entries):
            y = y0 + 10 + 16 * i
            self.draw.line([(x0 + 4, y), (x0 + 16, y)], fill=color, width=3)
            self.draw.text((x0 + 20, y), label, fill=BLACK, font=self.font, anchor="lm")


def figure(width, height, panels):
    """A white RGB image and its drawing, with ``panels`` axes boxes side by side."""
    image = Image.new("RGB", (width, height), WHITE)
    left, top, right, bottom = MARGIN
    step = width // panels
    boxes = [(i * step + left, top, (i + 1) * step - right, height - bottom) for i in range(panels)]
    return image, ImageDraw.Draw(image, "RGBA"), boxes


def scatter(samples, centers, path, title=""):
    """Save 2D ``samples`` (N, 2) over the mixture's ``centers`` (K, 2) as a PNG."""
    samples, centers = backend.to_numpy(samples), np.asarray(centers)
    image, draw, (box,) = figure(500, 500, 1)
    pad = 0.25 * np.ptp(centers) + 0.2
    panel = Panel(draw, box, (centers[:, 0].min() - pad, centers[:, 0].max() + pad),
                  (centers[:, 1].min() - pad, centers[:, 1].max() + pad), title)
    panel.points(samples[:, 0], samples[:, 1], COLORS[0], "generated")
    panel.crosses(centers[:, 0], centers[:, 1], COLORS[3], "real modes")
    panel.legend()
    image.save(path)


def loss_curves(records, path):
    """Save the losses and D's outputs of ``records`` (metrics.jsonl lines, as dicts) against the step."""
    if not records:
        return
    step = [r["step"] for r in records]
    image, draw, boxes = figure(1000, 400, 2)
    for box, title, keys in ((boxes[0], "losses", (("loss_d", "D loss"), ("loss_g", "G loss"))),
                             (boxes[1], "discriminator outputs", (("d_real", "D(x)"), ("d_fake", "D(G(z))")))):
        panel = lines(draw, box, step, {label: [r[key] for r in records] for key, label in keys}, title, "step")
        if keys[0][0] == "d_real":
            panel.hline(0.5)  # where D can no longer tell real from generated
        panel.legend()
    image.save(path)


def curves(x, ys, path, xlabel="", title=""):
    """Save line plots of ``ys`` ({label: values}) against ``x``, e.g. D*(x) against the formula."""
    image, draw, (box,) = figure(600, 400, 1)
    lines(draw, box, x, ys, title, xlabel).legend()
    image.save(path)


def lines(draw, box, x, ys, title, xlabel):
    """A Panel with a line for each of ``ys`` ({label: values}) against ``x``, scaled to fit them all."""
    panel = Panel(draw, box, limits(x, 0), limits(list(ys.values())), title, xlabel)
    for color, (label, y) in zip(COLORS, ys.items()):
        panel.line(x, y, color, label)
    return panel
