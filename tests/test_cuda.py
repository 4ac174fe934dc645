"""minigan on the GPU against minigan on the CPU: every CUDA kernel against its reference on
hypothesis-drawn inputs (im2col and col2im against nn/conv.py's plain ones, in the column path's
layout), reference_mode on the GPU, every layer's forward and gradients, the first steps of a DCGAN's training,
and checkpoints moving between devices. Skipped without CuPy and a CUDA GPU.

Kernel tolerances are k float eps of the dtype, relative to |expected| + a scale named per kernel
(the size of the terms that cancel): 0 where the kernel does the reference's arithmetic in its
order (relu, leaky_relu, im2col, col2im), a few eps where the two use different libm functions or
the GPU fuses a multiply-add, more where a reduction sums in another order. Subnormal float32
results may be flushed to zero (CuPy compiles with -ftz=true), so the absolute tolerance also
holds the smallest normal number.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigan
import minigan.cuda
import minigan.nn as nn
import minigan.nn.functional as F
from minigan.backend import cuda_available
from minigan.cuda import loader
from minigan.nn import conv, losses, normalization
from minigan.nn.fast import columns
from minigan.nn.conv import pair
from minigan.ops import activation
from minigan.testing import conv_configs, float_arrays, shapes

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA GPU")]
DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True, scope="module")
def poisoned_memory():
    """Every CuPy allocation starts as 0xFF bytes, NaN as floats: an element a kernel fails to write shows."""
    import cupy
    pool = cupy.get_default_memory_pool()

    def malloc(size):
        memory = pool.malloc(size)
        if size:
            memory.memset_async(0xFF, size)
        return memory
    cupy.cuda.set_allocator(malloc)
    yield
    cupy.cuda.set_allocator(pool.malloc)


def gpu(*arrays):
    import cupy
    return [cupy.asarray(a) for a in arrays]


def assert_close(got, expected, k, scale=0.0):
    """``got`` (on the GPU) within k eps (|expected| + scale) + tiny of ``expected``, of its dtype and shape.
    tiny, the smallest normal number: CuPy compiles every kernel with -ftz=true, so a float32 result
    below 1.2e-38 (subnormal) comes back as 0."""
    import cupy
    got = cupy.asnumpy(got)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    info = np.finfo(expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=k * info.eps, atol=k * info.eps * scale + info.tiny)


def seeded(data):
    """A NumPy generator seeded by hypothesis, for arrays too large to draw value by value."""
    return np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))


def in_layouts(a):
    """``a`` on the GPU laid out three ways in memory: C order, channels last (axis 1 innermost, as
    minigan's conv layers lay out their outputs) and axes reversed (the transpose of a contiguous array)."""
    import cupy
    ndim = a.ndim
    for order in (tuple(range(ndim)), (0, *range(2, ndim), 1), tuple(reversed(range(ndim)))):
        yield cupy.asarray(np.ascontiguousarray(a.transpose(order))).transpose(np.argsort(order))


# -- each kernel against its NumPy reference

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, k", [("relu_forward", 0), ("leaky_relu_forward", 0), ("tanh_forward", 4),
                                     ("sigmoid_forward", 8)])
@given(data=st.data())
def test_activation_forward_kernels(name, k, dtype, data):
    x = data.draw(float_arrays(data.draw(shapes()), -6, 6, dtype))
    params = (data.draw(st.floats(0, 1)),) if name.startswith("leaky") else ()
    f = getattr(activation, name)
    assert_close(getattr(minigan.cuda, name)(*gpu(x), *params), f.reference(x, *params), k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, low, k", [("relu_backward", -1, 0), ("leaky_relu_backward", -3, 0),
                                          ("tanh_backward", -1, 8), ("sigmoid_backward", 0, 4)])
@given(data=st.data())
def test_activation_backward_kernels(name, low, k, dtype, data):
    """The first argument is the forward's output y (relu, tanh in (-1, 1), sigmoid in (0, 1)) or input x."""
    shape = data.draw(shapes())
    y, grad = data.draw(float_arrays(shape, low, 1, dtype)), data.draw(float_arrays(shape, -3, 3, dtype))
    params = (data.draw(st.floats(0, 1)),) if name.startswith("leaky") else ()
    expected = getattr(activation, name).reference(y, grad, *params)
    assert_close(getattr(minigan.cuda, name)(*gpu(y, grad), *params), expected, k, scale=np.abs(grad).max(initial=0))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_bce_with_logits_kernels(dtype, data):
    shape = data.draw(shapes())
    x, t = data.draw(float_arrays(shape, -20, 20, dtype)), data.draw(float_arrays(shape, 0, 1, dtype, kinks=()))
    grad = data.draw(float_arrays(shape, -3, 3, dtype))
    # max(x, 0) - x t cancels terms of size |x|; sigmoid(x) - t, of size 1
    assert_close(minigan.cuda.bce_with_logits_forward(*gpu(x, t)), losses.bce_with_logits_forward.reference(x, t),
                 8, scale=1 + np.abs(x).max(initial=0))
    assert_close(minigan.cuda.bce_with_logits_backward(*gpu(x, t, grad)),
                 losses.bce_with_logits_backward.reference(x, t, grad), 8, scale=np.abs(grad).max(initial=0))


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_adam_step_kernel(dtype, data):
    shape = data.draw(shapes(min_dims=1))
    param, grad, exp_avg = (data.draw(float_arrays(shape, -3, 3, dtype)) for _ in range(3))
    exp_avg_sq = data.draw(float_arrays(shape, 0, 3, dtype))
    hyper = (data.draw(st.integers(1, 1000)), data.draw(st.floats(1e-5, 0.1)), data.draw(st.floats(0, 0.99)),
             data.draw(st.floats(0.5, 0.9999)), data.draw(st.floats(1e-10, 1e-3)),
             data.draw(st.sampled_from([0, 0.01])))  # step, lr, beta1, beta2, eps, weight_decay
    expected = [param.copy(), grad, exp_avg.copy(), exp_avg_sq.copy()]
    minigan.optim.adam_step.reference(*expected, *hyper)
    state = gpu(param, grad, exp_avg, exp_avg_sq)
    assert minigan.cuda.adam_step(*state, *hyper) is None
    step_size = np.abs(expected[0] - param).max(initial=0)  # the update's size, m / (sqrt(v) + eps) unbounded
    for got, want, scale in zip(state[::2] + state[3:], expected[::2] + expected[3:], [step_size, 3, 9]):
        assert_close(got, want, 16, scale=scale)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_adam_step_group_kernel(dtype, data):
    """One launch for every parameter of a list, each updated as adam_step updates it alone (to 16 eps)."""
    sizes = data.draw(st.lists(st.integers(1, 3000), min_size=1, max_size=6))
    rng = seeded(data)
    state = [[rng.standard_normal(n).astype(dtype) for n in sizes] for _ in range(4)]  # params grads m v
    state[3] = [np.abs(v) for v in state[3]]
    hyper = (data.draw(st.integers(1, 1000)), 1e-2, 0.5, 0.999, 1e-8, data.draw(st.sampled_from([0, 0.01])))
    expected = [[a.copy() for a in arrays] for arrays in state]
    minigan.optim.adam_step_group.reference(*expected, *hyper)
    got = [gpu(*arrays) for arrays in state]
    assert minigan.cuda.adam_step_group(*got, *hyper) is None
    for arrays_got, arrays_expected in zip(got, expected):
        for a, want in zip(arrays_got, arrays_expected):
            assert_close(a, want, 16, scale=np.abs(want).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("planar", [False, True])
@given(cfg=conv_configs(), data=st.data())
def test_im2col_and_col2im_kernels(cfg, dtype, planar, data):
    """Exact: im2col copies, col2im adds the taps in the reference's order (i, j). Inputs come in several
    memory layouts (the kernels read through strides); outputs are laid out as the column path lays out
    its own, channels last or planar."""
    assume(not cfg.empty)
    geometry = (cfg.kernel_size, pair(cfg.stride), pair(cfg.padding), pair(cfg.dilation))
    rng = seeded(data)
    x = rng.standard_normal(cfg.x_shape).astype(dtype)
    for x_gpu in in_layouts(x):
        assert_column_kernel(minigan.cuda.im2col(x_gpu, *geometry, planar), conv.im2col(x, *geometry),
                             columns.im2col.reference(x, *geometry, planar))
    cols = rng.standard_normal(conv.im2col(x, *geometry).shape).astype(dtype)
    for cols_gpu in in_layouts(cols):
        assert_column_kernel(minigan.cuda.col2im(cols_gpu, x.shape, *geometry, planar),
                             conv.col2im(cols, x.shape, *geometry), columns.col2im.reference(cols, x.shape, *geometry,
                                                                                             planar))


def assert_column_kernel(got, expected, laid_out_like):
    """assert_close (exactly) to nn/conv.py's reference, and ``got``'s axes (those longer than 1) run in
    memory in the order of the column path's NumPy output ``laid_out_like``."""
    assert_close(got, expected, 0)
    assert axes_by_stride(got) == axes_by_stride(laid_out_like)


def axes_by_stride(a):
    return sorted((k for k, n in enumerate(a.shape) if n > 1), key=lambda k: -a.strides[k])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_batch_norm_kernels(dtype, data):
    """x in [-3, 3] with every channel's std >= 0.5, so xhat stays within 12 and its rounding with it. Inputs
    in each layout; the outputs keep a channels-last input's layout."""
    shape = data.draw(st.sampled_from([2, 3, 4]).flatmap(lambda n: shapes(min_dims=n, max_dims=n, max_side=6)))
    axes, channel = (0,) + tuple(range(2, len(shape))), (1, -1) + (1,) * (len(shape) - 2)
    x = data.draw(float_arrays(shape, dtype=dtype, kinks=()))
    assume(x.size // shape[1] >= 2 and x.std(axis=axes).min() >= 0.5)
    weight, bias = (data.draw(float_arrays(shape[1:2], dtype=dtype, kinks=())) for _ in range(2))
    grad, eps = data.draw(float_arrays(shape, dtype=dtype, kinks=())), data.draw(st.sampled_from([1e-5, 1e-3]))
    forward = normalization.batch_norm_forward.reference(x, weight, bias, eps)
    mean, var = forward[1:]
    centered = x - mean.reshape(channel)
    backward = normalization.batch_norm_backward.reference(grad, x, mean, var, weight, eps)
    scales = batch_norm_backward_scales(grad, x, mean, var, weight, eps)
    for x_gpu, grad_gpu in zip(in_layouts(x), in_layouts(grad)):
        got = minigan.cuda.batch_norm_forward(x_gpu, *gpu(weight, bias), eps)
        for a, want, scale in zip(got, forward, [np.abs(forward[0]).max(), 3, np.square(centered).max()]):
            assert_close(a, want, 64, scale=scale)
        got_backward = minigan.cuda.batch_norm_backward(grad_gpu, x_gpu, *gpu(mean, var, weight), eps)
        for a, want, scale in zip(got_backward, backward, scales):
            assert_close(a, want, 64, scale=scale)
        if axes_by_stride(x_gpu)[-1:] == [1]:  # channels last: no copy, outputs alike
            assert axes_by_stride(got[0]) == axes_by_stride(got_backward[0]) == axes_by_stride(x_gpu)


def batch_norm_backward_scales(grad, x, mean, var, weight, eps):
    """The sizes of the terms summed into grad_x = w / std (g - E[g] - xhat E[g xhat]), sum g xhat and sum g."""
    axes, channel = (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
    centered = x - mean.reshape(channel)
    inv_std, g_xhat = 1 / np.sqrt(var + eps), np.abs(grad * centered)
    terms = np.abs(grad) + np.abs(grad).mean(axis=axes, keepdims=True) + np.abs(centered) * inv_std.reshape(
        channel) ** 2 * g_xhat.mean(axis=axes, keepdims=True)
    return [(terms * np.abs(weight * inv_std).reshape(channel)).max(), (g_xhat.sum(axis=axes) * inv_std).max(),
            np.abs(grad).sum(axis=axes).max()]


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_elementwise_kernels_keep_the_layout(dtype, data):
    """A transposed view (as conv outputs are) comes out in its own layout, uncopied; a second input laid
    out otherwise is read right."""
    shape = data.draw(shapes(min_dims=2, max_dims=4))
    x, grad = data.draw(float_arrays(shape, dtype=dtype)), data.draw(float_arrays(shape, dtype=dtype))
    expected = activation.leaky_relu_backward.reference(x, grad, 0.2)
    for x_gpu, grad_gpu in zip(in_layouts(x), reversed(list(in_layouts(grad)))):
        forward = activation.leaky_relu_forward.reference(x, 0.2)
        for got, want in [(minigan.cuda.leaky_relu_forward(x_gpu, 0.2), forward),
                          (minigan.cuda.leaky_relu_backward(x_gpu, grad_gpu, 0.2), expected)]:
            assert_close(got, want, 0)
            assert axes_by_stride(got) == axes_by_stride(x_gpu)


def test_kernels_at_dcgan_sizes():
    """Sizes where every grid-stride loop wraps and batch norm splits channels into many slices: the 64x64
    DCGAN's second discriminator layer, batch 128 (float32), in the channels-last layout of conv outputs."""
    import cupy
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64, 32, 32), dtype=np.float32)
    x_gpu = cupy.asarray(np.ascontiguousarray(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    geometry = ((4, 4), (2, 2), (1, 1), (1, 1))
    cols = columns.im2col.reference(x, *geometry)
    assert_column_kernel(minigan.cuda.im2col(x_gpu, *geometry), conv.im2col(x, *geometry), cols)
    expected = conv.col2im(cols, x.shape, *geometry)
    assert_column_kernel(minigan.cuda.col2im(cupy.asarray(cols), x.shape, *geometry), expected,
                         columns.col2im.reference(cols, x.shape, *geometry))
    assert_close(minigan.cuda.leaky_relu_forward(x_gpu, 0.2), activation.leaky_relu_forward.reference(x, 0.2), 0)
    weight, bias, grad = np.ones(64, np.float32), np.zeros(64, np.float32), np.tanh(x[::-1])
    outputs = minigan.cuda.batch_norm_forward(x_gpu, *gpu(weight, bias), 1e-5)
    expected = normalization.batch_norm_forward.reference(x, weight, bias, 1e-5)
    for got, want, scale in zip(outputs, expected, [np.abs(expected[0]).max(), np.abs(x).max(), x.max() ** 2]):
        assert_close(got, want, 64, scale=scale)
    mean, var = expected[1:]
    outputs = minigan.cuda.batch_norm_backward(cupy.asarray(grad), x_gpu, *gpu(mean, var, weight), 1e-5)
    expected = normalization.batch_norm_backward.reference(grad, x, mean, var, weight, 1e-5)
    for got, want, scale in zip(outputs, expected, batch_norm_backward_scales(grad, x, mean, var, weight, 1e-5)):
        assert_close(got, want, 64, scale=scale)
    params = [rng.standard_normal(2 ** 21, dtype=np.float32) for _ in range(4)]
    params[3] = np.abs(params[3])
    expected = [a.copy() for a in params]
    state = gpu(*params)
    minigan.cuda.adam_step(*state, 7, 2e-4, 0.5, 0.999, 1e-8, 0)
    minigan.optim.adam_step.reference(*expected, 7, 2e-4, 0.5, 0.999, 1e-8, 0)
    for got, want in zip(state, expected):
        assert_close(got, want, 16, scale=1)


def test_float16_runs_the_numpy_reference_on_the_gpu():
    x = np.linspace(-2, 2, 11, dtype=np.float16)
    assert_close(minigan.cuda.relu_forward(*gpu(x)), np.maximum(x, 0), 0)


def test_a_kernel_that_fails_to_compile_names_its_file(tmp_path):
    (tmp_path / "broken.cu").write_text('extern "C" __global__ void broken_f32(float* x) { x[0] = undefined_name; }\n')
    with pytest.raises(RuntimeError, match="broken.cu") as failure:
        loader.load_module("broken", str(tmp_path))
    assert "undefined_name" in str(failure.value)


# -- layers: the same computation on both devices

def forward_backward(fn, arrays, device):
    """fn's output and its inputs' gradients (for one random upstream gradient) as NumPy arrays."""
    tensors = [minigan.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = fn(*tensors)
    out.backward(np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype))
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


def assert_same_on_both_devices(fn, arrays):
    """fn on CUDA tensors matches fn on CPU tensors: 1e-10 of the largest value in float64, 1e-4 in
    float32 (cuBLAS and the CPU's BLAS sum the products of a matrix product in different orders)."""
    tol = 1e-4 if arrays[0].dtype == np.float32 else 1e-10
    for got, want in zip(forward_backward(fn, arrays, "cuda"), forward_backward(fn, arrays, "cpu")):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max(initial=1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transposed", [False, True])
@given(data=st.data())
def test_convolutions_on_both_devices(transposed, dtype, data):
    cfg = data.draw(conv_configs(transposed=transposed))
    assume(not cfg.empty)
    rng = seeded(data)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (cfg.x_shape, cfg.weight_shape, (cfg.out_channels,))]
    op = F.conv_transpose2d if transposed else F.conv2d
    assert_same_on_both_devices(lambda x, w, b: op(x, w, b, **cfg.kwargs), arrays)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 5, 3, 2)])
def test_batch_norm_on_both_devices(shape, dtype):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (shape, shape[1:2], shape[1:2])]
    running = {}

    def batch_norm(x, w, b):
        stats = running[x.device] = [minigan.zeros(shape[1], dtype=dtype, device=x.device) for _ in range(2)]
        return F.batch_norm(x, *stats, w, b, training=True, momentum=0.3)
    assert_same_on_both_devices(batch_norm, arrays)
    for got, want in zip(running["cuda"], running["cpu"]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "bce_with_logits", "dropout"])
def test_layers_on_both_devices(layer, dtype):
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((8, 5), (3, 5), (3,)))
    target = rng.random((8, 5)).astype(dtype)
    fns = dict(linear=(F.linear, [x, w, b]), relu=(F.relu, [x]), tanh=(F.tanh, [x]), sigmoid=(F.sigmoid, [x]),
               leaky_relu=(lambda t: F.leaky_relu(t, 0.2), [x]),
               bce_with_logits=(lambda t: F.binary_cross_entropy_with_logits(
                   t, minigan.tensor(target, device=t.device)), [x]),
               dropout=(lambda t: F.dropout(t, 0.3, generator=minigan.Generator(5)), [x]))
    assert_same_on_both_devices(*fns[layer])


def test_adam_on_both_devices():
    rng = np.random.default_rng(3)
    values, grads = rng.standard_normal((2, 3, 40)).astype(np.float32)
    results = {}
    for device in ("cpu", "cuda"):
        params = [minigan.tensor(v, requires_grad=True, device=device) for v in values]
        opt = minigan.optim.Adam(params, lr=1e-2, betas=(0.5, 0.999), weight_decay=0.1)
        for step in range(3):
            for p, g in zip(params, grads):
                p.grad = minigan.tensor(g * (step + 1), device=device)
            opt.step()
        results[device] = [p.numpy() for p in params] + [s["exp_avg_sq"] for s in opt.state.values()]
    for got, want in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(minigan.backend.to_numpy(got), minigan.backend.to_numpy(want), rtol=1e-5, atol=1e-7)


# -- a DCGAN's first training steps, and checkpoints

def tiny_dcgan(device, seed, nz=8):
    """G: nz -> 4x4 -> 8x8 images; D: 8x8 -> 4x4 -> 2x2 -> a logit. The DCGAN's layers, small."""
    g = minigan.Generator(seed)
    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, 16, 4, 1, 0, bias=False, generator=g), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 4, 2, 1, bias=False, generator=g), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, 16, 4, 2, 1, bias=False, generator=g), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 32, 4, 2, 1, bias=False, generator=g), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 1, 2, 1, 0, bias=False, generator=g), nn.Flatten())
    return generator.to(device), discriminator.to(device)


def train_dcgan(device, steps, batch=8, nz=8):
    """Losses and parameters after each of ``steps`` D-then-G Adam updates (non-saturating G loss).

    Adam's eps is 1e-3, not 1e-8, so that an update is a smooth function of its gradient: with 1e-8, a
    gradient at float32's noise level (a true 0 computed as +-1e-10) still moves its parameter by up
    to lr, in a direction that the summation order decides, so differently on the two devices."""
    generator, discriminator = tiny_dcgan(device, 0, nz)
    opt_g, opt_d = (minigan.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-3)
                    for m in (generator, discriminator))
    rng = np.random.default_rng(4)
    real = minigan.tensor(np.tanh(rng.standard_normal((batch, 1, 8, 8))).astype(np.float32), device=device)
    ones, zeros = minigan.ones(batch, 1, device=device), minigan.zeros(batch, 1, device=device)
    bce = F.binary_cross_entropy_with_logits
    history = []
    for _ in range(steps):
        fake = generator(minigan.tensor(rng.standard_normal((batch, nz, 1, 1)).astype(np.float32), device=device))
        opt_d.zero_grad()
        loss_d = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(discriminator(fake), ones)
        loss_g.backward()
        opt_g.step()
        parameters = list(generator.parameters()) + list(discriminator.parameters())
        history.append(([loss_d.item(), loss_g.item()], [p.numpy().copy() for p in parameters]))  # not live
    return history


def test_reference_mode_on_the_gpu_runs_plain_cupy_and_no_kernel_of_ours(monkeypatch):
    """MINIGAN_REFERENCE's switch on the GPU: every op takes conv.py's (and the others') reference, as CuPy
    expressions: no kernel of kernels/*.cu is launched, and the numbers are the CPU's."""
    def refuse(*args, **kwargs):
        raise AssertionError("a minigan CUDA kernel ran under reference_mode")
    monkeypatch.setattr(loader, "_function", refuse)  # every launch looks its kernel up here
    with minigan.reference_mode():
        cuda_run = train_dcgan("cuda", 2)
    for (losses_gpu, params_gpu), (losses_cpu, params_cpu) in zip(cuda_run, train_dcgan("cpu", 2)):
        np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-4)
        for got, want in zip(params_gpu, params_cpu):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_dcgan_training_steps_match_the_cpu():
    """float32: losses to 1e-4; parameters to 1e-5, a twentieth of the largest Adam step (lr 2e-4)."""
    for (losses_gpu, params_gpu), (losses_cpu, params_cpu) in zip(train_dcgan("cuda", 3), train_dcgan("cpu", 3)):
        np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-4)
        for got, want in zip(params_gpu, params_cpu):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_checkpoint_saved_on_gpu_loads_on_cpu_and_back(tmp_path):
    generator, _ = tiny_dcgan("cuda", 0)
    opt = minigan.optim.Adam(generator.parameters(), lr=1e-3)
    loss = generator(minigan.randn(2, 8, 1, 1, device="cuda")).sum()
    loss.backward()
    opt.step()
    minigan.save({"G": generator.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")
    expected = {k: v.numpy() for k, v in generator.state_dict().items()}
    for device in ("cpu", "cuda"):
        state = minigan.load(tmp_path / "ckpt.npz", device=device)
        model, _ = tiny_dcgan(device, seed=1)  # other initial weights, overwritten by the load
        model.load_state_dict(state["G"])
        minigan.optim.Adam(model.parameters(), lr=1e-3).load_state_dict(state["opt"])
        for key, value in model.state_dict().items():
            assert value.device == device
            np.testing.assert_array_equal(value.numpy(), expected[key])
