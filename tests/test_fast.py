"""nn/fast's choice of path (plan), the switch to the reference everywhere (reference_mode and
MINIGAN_REFERENCE=1), and a few DCGAN steps on both, compared."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigan as mg
import minigan.nn.functional as F
from minigan import backend
from minigan.gan import dcgan
from minigan.nn import fast
from minigan.nn.fast import winograd
from minigan.ops import activation

pytestmark = pytest.mark.usefixtures("fast_paths")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
import call_trail  # noqa: E402  (benchmarks/call_trail.py: the trail the README walks through)



@pytest.mark.parametrize("transposed, x_shape, w_shape, path", [
    (False, (2, 64, 32, 32), (128, 64, 4, 4), "WinogradConv2d"),        # a DCGAN layer: kernel 2 s, deep
    (True, (2, 128, 16, 16), (128, 64, 4, 4), "WinogradConvTranspose2d"),
    (False, (2, 3, 32, 32), (64, 3, 4, 4), "ColumnsConv2d"),            # thin: Winograd would not pay
    (True, (2, 64, 16, 16), (64, 3, 4, 4), "ColumnsConvTranspose2d"),
    (False, (2, 64, 32, 32), (128, 64, 3, 3), "ColumnsConv2d"),         # kernel not twice the stride
])
def test_plan_picks_winograd_then_columns_and_the_graph_names_it(transposed, x_shape, w_shape, path):
    x, w = mg.zeros(*x_shape, requires_grad=True), mg.zeros(*w_shape)
    op = F.conv_transpose2d if transposed else F.conv2d
    stride, padding = (1, 1) if w_shape[-1] == 3 else (2, 1)
    assert op(x, w, stride=stride, padding=padding).grad_fn.name == path
    with mg.reference_mode():
        assert op(x, w, stride=stride, padding=padding).grad_fn.name == ("ConvTranspose2d" if transposed else "Conv2d")
    assert op(x, w, stride=stride, padding=padding).grad_fn.name == path  # the mode ends with the block


def test_plan_is_none_under_reference_mode():
    x, w, geometry = np.zeros((2, 64, 32, 32)), np.zeros((128, 64, 4, 4)), dict(stride=(2, 2), padding=(1, 1),
                                                                                 dilation=(1, 1))
    assert fast.plan(False, x, w, (16, 16), geometry)[0] is winograd.WinogradConv2d
    with mg.reference_mode():
        assert fast.plan(False, x, w, (16, 16), geometry) is None


def test_reference_mode_turns_the_cuda_kernels_off(monkeypatch):
    """On CuPy arrays a @kernel function runs minigan.cuda's kernel, unless reference_mode is on; faked
    here so that it runs without a GPU (tests/test_cuda.py runs the real thing)."""
    import minigan.cuda
    monkeypatch.setattr(backend, "is_cupy_array", lambda x: True)
    monkeypatch.setattr(activation, "array_module", lambda x: np)
    monkeypatch.setattr(minigan.cuda, "relu_forward", lambda x: "kernel")
    x = np.array([-1.0, 2.0])
    assert activation.relu_forward(x) == "kernel"
    with mg.reference_mode():
        np.testing.assert_array_equal(activation.relu_forward(x), [0.0, 2.0])


def test_the_environment_variable_sets_reference_mode_for_the_process():
    script = ("import minigan, minigan.nn.functional as F\n"
              "x = minigan.zeros(2, 64, 32, 32, requires_grad=True)\n"
              "print(minigan.backend.reference_enabled(), F.conv2d(x, minigan.zeros(128, 64, 4, 4), stride=2,"
              " padding=1).grad_fn.name)\n")
    for value, expected in [("1", "True Conv2d"), ("0", "False WinogradConv2d")]:
        run = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, MINIGAN_REFERENCE=value),
                             check=True, capture_output=True, text=True)
        assert run.stdout.split() == expected.split()


def _dcgan_steps(steps=3, batch=4, nz=8):
    """A 16x16 DCGAN (float64, widths that take Winograd once its depth threshold is lifted) trained for a
    few steps; its parameters after each."""
    G = dcgan.dcgan_generator(nz, 8, 1, 16, mg.Generator(0))
    D = dcgan.dcgan_discriminator(1, 8, 16, mg.Generator(1))
    for p in list(G.parameters()) + list(D.parameters()) + list(G.buffers()) + list(D.buffers()):
        p.data = p.data.astype(np.float64)
    opt_g, opt_d = (mg.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (G, D))
    rng = np.random.default_rng(0)
    real = mg.tensor(np.tanh(rng.standard_normal((batch, 1, 16, 16))))
    ones, zeros = mg.ones(batch, 1, dtype="float64"), mg.zeros(batch, 1, dtype="float64")
    bce, history = F.binary_cross_entropy_with_logits, []
    for _ in range(steps):
        fake = G(mg.tensor(rng.standard_normal((batch, nz))))
        opt_d.zero_grad()
        (bce(D(real), ones) + bce(D(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(D(fake), ones).backward()
        opt_g.step()
        history.append([p.numpy().copy() for p in list(G.parameters()) + list(D.parameters())])
    return history


def test_dcgan_steps_on_the_fast_paths_equal_the_reference(monkeypatch):
    monkeypatch.setattr(winograd, "MIN_DEPTH", 1)  # so that Winograd runs on the small layers too
    with mg.reference_mode():
        reference = _dcgan_steps()
    for fast_step, reference_step in zip(_dcgan_steps(), reference):
        for got, want in zip(fast_step, reference_step):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_reference_backward_of_a_dcgan_step_reads_eight_files():
    """The trail the README's architecture section walks through."""
    trail = call_trail.generator_backward(reference=True)
    assert set(trail) == {"tensor.py", "backend.py", "ops/reduce.py", "nn/losses.py", "ops/activation.py",
                          "ops/shape.py", "nn/conv.py", "nn/normalization.py"}
    assert {name.split(".")[0] for name in trail["nn/conv.py"]} == {
        "Conv2d", "ConvTranspose2d", "Conv2dWeight", "im2col", "col2im", "_taps", "_add_bias", "conv_output_size"}
    assert {"nn/fast/winograd.py", "nn/fast/columns.py"} <= set(call_trail.generator_backward(reference=False))


def test_a_transposed_convolution_backward_stays_in_conv_py():
    trail = call_trail.transposed_backward(reference=True)
    assert set(trail) == {"nn/conv.py", "tensor.py", "backend.py"}
    assert trail["tensor.py"] == ["Function.call", "Function.call.<locals>.<genexpr>", "Function.__init__",
                                  "Function.save_for_backward"]
