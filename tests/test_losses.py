import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_parity import assert_matches_torch, check_op

import minigan as mg
import minigan.nn.functional as F
from minigan.nn.losses import bce_with_logits_backward, bce_with_logits_forward
from minigan.testing import float_arrays, shapes

TF = torch.nn.functional
REDUCTION = st.sampled_from(["mean", "sum", "none"])
PAIRED = {  # name: (minigan, torch, input range, target range); the target is differentiated too
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                                         (-5, 5), (0, 1)),
    "binary_cross_entropy": (F.binary_cross_entropy, TF.binary_cross_entropy, (0.02, 0.98), (0, 1)),
    "mse_loss": (F.mse_loss, TF.mse_loss, (-3, 3), (-3, 3)),
}


@pytest.mark.parametrize("name", PAIRED)
@given(data=st.data(), reduction=REDUCTION)
def test_loss_gradcheck_and_torch(name, data, reduction):
    ours, theirs, (lo, hi), (t_lo, t_hi) = PAIRED[name]
    shape = data.draw(shapes(max_dims=3, max_side=4))
    arrays = [data.draw(float_arrays(shape, lo, hi, kinks=())), data.draw(float_arrays(shape, t_lo, t_hi, kinks=()))]
    check_op(lambda x, t: ours(x, t, reduction=reduction), lambda x, t: theirs(x, t, reduction=reduction), arrays,
             rtol=1e-9)


@given(data=st.data(), reduction=REDUCTION)
def test_cross_entropy_gradcheck_and_torch(data, reduction):
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    labels = np.asarray(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    logits = data.draw(float_arrays((n, k), -5, 5))
    check_op(lambda x: F.cross_entropy(x, labels, reduction=reduction),
             lambda x: TF.cross_entropy(x, torch.tensor(labels), reduction=reduction), [logits], rtol=1e-9)


def test_bce_with_logits_is_finite_and_exact_for_huge_logits():
    logits, target = np.array([-1e4, -30.0, 0.0, 30.0, 1e4] * 2), np.repeat([0.0, 1.0], 5)
    assert_matches_torch(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
                         lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction="none"),
                         [logits, target], rtol=1e-12)
    loss = bce_with_logits_forward(logits, target)
    grad = bce_with_logits_backward(logits, target, np.ones(10))
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(loss[[0, 9]], [0.0, 0.0])
    np.testing.assert_allclose(loss[[4, 5]], [1e4, 1e4])


def test_binary_cross_entropy_clamps_log_at_minus_100_as_torch():
    # torch's target gradient is infinite at p = 0 or 1 (ours uses the clamped logs): only p's is compared
    p, target = np.array([0.0, 1.0, 0.0, 1.0, 1e-50]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    assert_matches_torch(lambda x: F.binary_cross_entropy(x, target, reduction="none"),
                         lambda x: TF.binary_cross_entropy(x, torch.tensor(target), reduction="none"), [p],
                         rtol=1e-12)
    np.testing.assert_array_equal(F.binary_cross_entropy(mg.tensor(p), mg.tensor(target), reduction="none").numpy(),
                                  [100.0, 100.0, 0.0, 0.0, 100.0])


@pytest.mark.parametrize("call, message", [
    (lambda: F.mse_loss(mg.zeros(3), mg.zeros(3, 1)), "differ"),
    (lambda: F.binary_cross_entropy_with_logits(mg.zeros(3), mg.zeros(3), reduction="avg"), "reduction"),
    (lambda: F.binary_cross_entropy(mg.full(3, 1.5), mg.zeros(3)), "between 0 and 1"),
    (lambda: F.cross_entropy(mg.zeros(2, 3), np.array([0, 3])), r"\[0, 3\)"),
    (lambda: F.cross_entropy(mg.zeros(2, 3), np.array([0.0, 1.0])), "integer labels"),
    (lambda: F.cross_entropy(mg.zeros(2, 3), np.array([0, 1, 2])), "labels of shape"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
