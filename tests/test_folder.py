import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st
from PIL import Image

from minigan.data.folder import interpolation_matrix, load_folder, pad_images, resize_bilinear

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def stripes(size, colours, axis):
    """An image (h, w, 3) made of equal stripes of ``colours`` along ``axis`` (0: rows, 1: columns)."""
    bands = [np.broadcast_to(np.array(c, np.uint8), (size[0], size[1] // len(colours), 3)) if axis == 1 else
             np.broadcast_to(np.array(c, np.uint8), (size[0] // len(colours), size[1], 3)) for c in colours]
    return np.concatenate(bands, axis=axis)


def tanh_scale(rgb):
    return np.array(rgb, np.float32)[:, None, None] / 127.5 - 1


def test_wide_image_is_centre_cropped_without_resize(tmp_path):
    Image.fromarray(stripes((8, 24), [RED, GREEN, BLUE], axis=1)).save(tmp_path / "a.png")
    x = load_folder(tmp_path, 8)
    assert x.shape == (1, 3, 8, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], np.broadcast_to(tanh_scale(GREEN), (3, 8, 8)), atol=1e-6)


def test_tall_image_is_resized_on_its_shorter_side_then_cropped(tmp_path):
    Image.fromarray(stripes((64, 16), [RED, GREEN, GREEN, BLUE], axis=0)).save(tmp_path / "b.png")
    x = load_folder(tmp_path, 8)  # 16x64 -> 8x32, the middle 8 rows are green
    assert x.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(x[0, :, 1:-1], np.broadcast_to(tanh_scale(GREEN), (3, 6, 8)), atol=1e-6)


def test_formats_modes_and_subfolders(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.fromarray(np.full((10, 10), 255, np.uint8), "L").save(tmp_path / "cats" / "grey.PNG")
    Image.fromarray(np.full((12, 12, 3), 255, np.uint8)).save(tmp_path / "white.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("not an image")
    rgb = load_folder(tmp_path, 6)
    assert rgb.shape == (2, 3, 6, 6)
    np.testing.assert_allclose(rgb, 1.0, atol=2 / 255)  # JPEG may round white by a level
    grey = load_folder(tmp_path, 6, channels=1)
    assert grey.shape == (2, 1, 6, 6) and grey.min() >= -1 and grey.max() <= 1


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_folder(tmp_path / "absent", 8)
    with pytest.raises(FileNotFoundError, match="no .png"):
        load_folder(tmp_path, 8)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match="broken.png"):
        load_folder(tmp_path, 8)
    with pytest.raises(ValueError, match="channels"):
        load_folder(tmp_path, 8, channels=2)


def test_pad_28_to_32_with_background():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    y = pad_images(x)
    assert y.shape == (3, 1, 32, 32) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, :, 2:30, 2:30], x)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(y[:, :, border] == -1.0)
    with pytest.raises(ValueError, match="do not fit"):
        pad_images(x, size=20)


@given(h=st.integers(1, 30), w=st.integers(1, 30), size=st.integers(1, 70))
def test_resize_matches_torch_bilinear(h, w, size):
    x = np.random.default_rng(h * 100 + w).standard_normal((2, 3, h, w))
    expected = F.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(resize_bilinear(x, size), expected, rtol=1e-10, atol=1e-12)


def test_resize_28_to_64_keeps_dtype_and_constants():
    x = np.full((4, 1, 28, 28), 0.25, np.float32)
    y = resize_bilinear(x, 64)
    assert y.shape == (4, 1, 64, 64) and y.dtype == np.float32
    np.testing.assert_allclose(y, 0.25, rtol=1e-6)
    np.testing.assert_allclose(interpolation_matrix(28, 64).sum(1), 1.0)


def luma(rgb):
    """ITU-R 601-2 luma, as Pillow computes it (16-bit fixed point, rounded)."""
    r, g, b = np.moveaxis(np.asarray(rgb, np.int64), -1, 0)
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


PALETTE = np.array([[0, 0, 0], [255, 0, 0], [10, 200, 30], [90, 90, 250]], np.uint8)
INDICES = np.array([[0, 1], [2, 3]], np.uint8)
ALPHA = np.array([[255, 0], [128, 64]], np.uint8)
RGB = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [200, 100, 50]]], np.uint8)


def palette_image(transparent_index=None):
    im = Image.fromarray(INDICES, "P")
    im.putpalette(PALETTE.ravel().tolist())
    if transparent_index is not None:
        im.info["transparency"] = transparent_index
    return im


def levels(x):
    """[-1, 1] back to the 0-255 levels (exact: the levels are 127.5 apart from -1 in float32)."""
    return np.rint((x.astype(np.float64) + 1) * 127.5).astype(np.int64)


def over_black(rgb, alpha):
    return np.rint(np.asarray(rgb, np.float64) * (alpha[..., None] / 255)).astype(np.int64)


# mode: (the image saved as PNG, or JPEG for CMYK; its expected RGB (2, 2, 3) and grey (2, 2) values, 0-255)
MODE_CASES = {
    "1": (lambda: Image.fromarray(np.array([[0, 1], [1, 0]], bool)),
          np.array([[0, 255], [255, 0]])[..., None].repeat(3, -1), np.array([[0, 255], [255, 0]])),
    "L": (lambda: Image.fromarray(np.array([[0, 17], [128, 255]], np.uint8)),
          np.array([[0, 17], [128, 255]])[..., None].repeat(3, -1), np.array([[0, 17], [128, 255]])),
    "LA": (lambda: Image.fromarray(np.stack([np.full((2, 2), 200, np.uint8), ALPHA], -1), "LA"),
           over_black(np.full((2, 2, 3), 200), ALPHA), over_black(np.full((2, 2, 1), 200), ALPHA)[..., 0]),
    "P": (palette_image, PALETTE[INDICES], luma(PALETTE[INDICES])),
    "P with a transparent index": (lambda: palette_image(transparent_index=1),
                                   PALETTE[INDICES] * (INDICES != 1)[..., None],
                                   luma(PALETTE[INDICES]) * (INDICES != 1)),
    "RGB": (lambda: Image.fromarray(RGB), RGB, luma(RGB)),
    "RGB with a transparent colour": (lambda: Image.fromarray(RGB), RGB * [[[1], [0]], [[1], [1]]],
                                      luma(RGB) * [[1, 0], [1, 1]]),
    "RGBA": (lambda: Image.fromarray(np.concatenate([RGB, ALPHA[..., None]], -1), "RGBA"),
             over_black(RGB, ALPHA), luma(over_black(RGB, ALPHA))),
    "I;16": (lambda: Image.fromarray(np.array([[0, 257], [1000, 65535]], np.uint16)),
             np.array([[0, 1], [4, 255]])[..., None].repeat(3, -1), np.array([[0, 1], [4, 255]])),
}


@pytest.mark.parametrize("mode", list(MODE_CASES))
def test_every_mode_pillow_opens_is_converted_to_rgb_and_grey(tmp_path, mode):
    make, rgb, grey = MODE_CASES[mode]
    path = tmp_path / "image.png"
    extra = {"transparency": (0, 255, 0)} if mode == "RGB with a transparent colour" else {}
    make().save(path, **extra)
    with Image.open(path) as im:
        assert im.mode == mode.split()[0]  # the mode the test is about is the one Pillow opens the file in
    np.testing.assert_array_equal(levels(load_folder(tmp_path, 2)[0]), np.moveaxis(rgb, -1, 0))
    np.testing.assert_array_equal(levels(load_folder(tmp_path, 2, channels=1)[0, 0]), grey)


def test_a_cmyk_jpeg_is_converted_as_pillow_converts_cmyk(tmp_path):
    cmyk = np.zeros((8, 8, 4), np.uint8)
    cmyk[:4, :, 0] = 255  # cyan on top, white below
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.jpg", quality=100)
    with Image.open(tmp_path / "c.jpg") as im:
        assert im.mode == "CMYK"
    x = levels(load_folder(tmp_path, 8)[0])
    np.testing.assert_allclose(x[:, :3], np.broadcast_to(np.array([0, 255, 255])[:, None, None], (3, 3, 8)), atol=3)
    np.testing.assert_allclose(x[:, 5:], 255, atol=3)


def test_an_image_over_pillows_pixel_limit_is_refused_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    for side in (11, 15):  # over the limit (Pillow warns), over twice the limit (Pillow raises)
        Image.new("L", (side, side)).save(tmp_path / f"big-{side}.png")
        with pytest.raises(ValueError, match=f"cannot read image .*big-{side}.png.*exceeds limit"):
            load_folder(tmp_path, 8)
        os.remove(tmp_path / f"big-{side}.png")
