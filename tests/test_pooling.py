import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import check_op, check_second_order

import minigan as mg
import minigan.nn.functional as F
from minigan.nn.conv import pair
from minigan.nn.pooling import Col2Im, Im2Col
from minigan.testing import float_arrays, pool_configs


@given(data=st.data())
def test_max_pool2d_gradcheck_and_torch(data):
    shape, kwargs = data.draw(pool_configs())
    x = data.draw(float_arrays(shape, distinct=True))  # no ties: the max is unique
    check_op(lambda t: F.max_pool2d(t, **kwargs), lambda t: torch.nn.functional.max_pool2d(t, **kwargs), [x],
             rtol=1e-9, second_order=False)


@given(data=st.data())
def test_avg_pool2d_gradcheck_and_torch(data):
    shape, kwargs = data.draw(pool_configs(max_dilation=1))
    kwargs.pop("dilation")
    x = data.draw(float_arrays(shape, kinks=()))  # linear: no kink to keep away from
    check_op(lambda t: F.avg_pool2d(t, **kwargs), lambda t: torch.nn.functional.avg_pool2d(t, **kwargs), [x],
             rtol=1e-9, second_order=False)


SMALL = dict(max_batch=2, max_channels=2, max_size=5)  # gradgradcheck perturbs every element of x and of grad


@given(data=st.data())
def test_max_pool2d_second_order(data):
    shape, kwargs = data.draw(pool_configs(max_kernel=3, **SMALL))
    x = data.draw(float_arrays(shape, distinct=True))
    check_second_order(lambda t: F.max_pool2d(t, **kwargs), lambda t: torch.nn.functional.max_pool2d(t, **kwargs),
                       [x])


@given(data=st.data())
def test_avg_pool2d_second_order(data):
    shape, kwargs = data.draw(pool_configs(max_kernel=3, max_dilation=1, **SMALL))
    kwargs.pop("dilation")
    check_second_order(lambda t: F.avg_pool2d(t, **kwargs), lambda t: torch.nn.functional.avg_pool2d(t, **kwargs),
                       [data.draw(float_arrays(shape, kinks=()))])


@given(data=st.data())
def test_im2col_and_col2im_are_each_others_adjoint_and_backward(data):
    shape, kwargs = data.draw(pool_configs(**SMALL))
    k, s, p, d = (pair(kwargs[name] if kwargs[name] is not None else kwargs["kernel_size"])
                  for name in ("kernel_size", "stride", "padding", "dilation"))
    geometry = dict(kernel_size=k, stride=s, padding=p, dilation=d)
    x = mg.tensor(data.draw(float_arrays(shape, kinks=())), requires_grad=True)
    cols_shape = Im2Col.apply(x, **geometry).shape
    cols = mg.tensor(data.draw(float_arrays(cols_shape, kinks=())), requires_grad=True)
    # <im2col(x), cols> = <x, col2im(cols)>
    np.testing.assert_allclose((Im2Col.apply(x, **geometry) * cols).sum().item(),
                               (x * Col2Im.apply(cols, input_shape=shape, **geometry)).sum().item(), rtol=1e-12)
    assert mg.gradgradcheck(lambda t: Im2Col.apply(t, **geometry), [x])
    assert mg.gradgradcheck(lambda t: Col2Im.apply(t, input_shape=shape, **geometry), [cols])


def test_max_pool2d_padding_never_wins():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # every value below the zero a padding might add
    out = F.max_pool2d(mg.tensor(x), 2, stride=2, padding=1)
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.max_pool2d(torch.tensor(x), 2, 2, 1).numpy())
    assert out.numpy().max() < 0


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("shape, kwargs, message", [
    ((1, 1, 4, 4), dict(kernel_size=3, padding=2), "half the kernel"),
    ((1, 1, 2, 2), dict(kernel_size=3), "empty"),
    ((1, 4, 4), dict(kernel_size=2), "4-D"),
    ((1, 1, 4, 4), dict(kernel_size=0), "positive"),
])
def test_bad_arguments_raise_clear_errors(pool, shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool(mg.zeros(shape), **kwargs)
