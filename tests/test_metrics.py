import math

import numpy as np
import pytest

from minigan import metrics
from minigan.data import toy2d
from minigan.random import Generator


# ---- mode_stats on the 2D mixtures

def test_true_samples_cover_every_mode():
    ring = toy2d.get("ring")
    stats = metrics.mode_stats(ring.sample(metrics.MODE_SAMPLES, Generator(0)), ring.centers, ring.std)
    assert stats["modes"] == 8
    p_hq = 1 - math.exp(-metrics.HQ_STDS**2 / 2)  # P(|z| <= 3) for a 2D standard Gaussian (Rayleigh radius)
    assert abs(stats["high_quality"] / 100 - p_hq) < 4 * math.sqrt(p_hq * (1 - p_hq) / metrics.MODE_SAMPLES)
    assert 0 <= stats["reverse_kl"] < 0.02  # multinomial noise only: about (K - 1) / (2 N)


@pytest.mark.parametrize("per_mode", [(10, 0, 0, 0, 0, 0, 0, 0), (5, 5, 5, 5, 0, 0, 0, 0), (3, 1, 0, 0, 0, 0, 0, 0)])
def test_reverse_kl_of_the_mode_histogram(per_mode):
    ring = toy2d.get("ring")
    samples = np.repeat(ring.centers, per_mode, axis=0) + 0.02  # within 3 std (0.028 away) of their mode
    outliers = np.full((4, 2), 0.5, np.float32)  # far from every mode: counted in neither histogram nor HQ
    stats = metrics.mode_stats(np.concatenate([samples, outliers]), ring.centers, ring.std)
    q = np.array([c for c in per_mode if c]) / sum(per_mode)
    assert stats["modes"] == len(q)
    assert stats["reverse_kl"] == pytest.approx(sum(qk * math.log(8 * qk) for qk in q))
    assert stats["high_quality"] == pytest.approx(100 * sum(per_mode) / (sum(per_mode) + 4))


def test_high_quality_threshold_is_3_std():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[2.9, 0.0], [0.0, -3.1], [10.0, 2.9]])
    stats = metrics.mode_stats(samples, centers, std=1.0)
    assert stats["modes"] == 2 and stats["high_quality"] == pytest.approx(200 / 3)
    assert metrics.mode_stats(samples + 50, centers, 1.0) == {"modes": 0, "high_quality": 0.0,
                                                                "reverse_kl": math.inf}


# ---- Parzen window log-likelihood

def gaussian_log_density(x, mu, var):
    d = x.shape[1]
    return -0.5 * ((x - mu) ** 2).sum(1) / var - d / 2 * math.log(2 * math.pi * var)


def test_parzen_of_one_sample_is_that_gaussian_even_far_away():
    rng = np.random.default_rng(0)
    sample, test = rng.standard_normal((1, 3)), rng.standard_normal((5, 3)) * 100
    got = metrics.parzen_log_likelihood(sample, test, sigma=0.1)
    assert np.all(np.isfinite(got))  # exp would underflow to 0 without the max shift
    np.testing.assert_allclose(got, gaussian_log_density(test, sample, 0.01), rtol=1e-9)


def test_parzen_converges_to_the_smoothed_gaussian():
    # The KDE of N(mu, s^2 I) samples with bandwidth sigma tends to N(mu, (s^2 + sigma^2) I), whose expected
    # log-likelihood under N(mu, s^2 I) is -d/2 [log(2 pi (s^2 + sigma^2)) + s^2 / (s^2 + sigma^2)].
    rng = np.random.default_rng(1)
    d, s, sigma, mu = 2, 0.8, 0.5, np.array([1.0, -2.0])
    samples = mu + s * rng.standard_normal((20_000, d))
    test = mu + s * rng.standard_normal((2_000, d))
    ll = metrics.parzen_log_likelihood(samples, test, sigma, batch_size=300)
    v = s**2 + sigma**2
    expected = -d / 2 * (math.log(2 * math.pi * v) + s**2 / v)
    assert abs(ll.mean() - expected) < 4 * ll.std() / math.sqrt(len(ll))


def test_parzen_batching_and_image_shapes():
    rng = np.random.default_rng(2)
    samples, test = rng.uniform(-1, 1, (50, 1, 4, 4)), rng.uniform(-1, 1, (7, 1, 4, 4))
    whole = metrics.parzen_log_likelihood(samples, test, 0.3)
    np.testing.assert_allclose(metrics.parzen_log_likelihood(samples, test, 0.3, batch_size=2), whole, rtol=1e-12)
    flat = [gaussian_log_density(samples.reshape(50, -1), t.reshape(1, -1), 0.09) for t in test]
    np.testing.assert_allclose(whole, [np.log(np.exp(f).mean()) for f in flat], rtol=1e-9)
    with pytest.raises(ValueError, match="dimension"):
        metrics.parzen_log_likelihood(samples, test[:, :, :2], 0.3)


def test_sigma_selection_finds_the_spread_of_the_data():
    # Samples at one point: the KDE is N(0, sigma^2 I), best for N(0, 0.5^2 I) data at sigma = 0.5.
    rng = np.random.default_rng(3)
    samples = np.zeros((10, 4))
    validation, test = 0.5 * rng.standard_normal((4000, 4)), 0.5 * rng.standard_normal((1000, 4))
    grid = metrics.PARZEN_SIGMAS
    best = grid[np.argmin(np.abs(np.log(grid / 0.5)))]
    assert metrics.select_parzen_sigma(samples, validation) == best
    result = metrics.parzen_evaluate(samples, validation, test)
    ll = gaussian_log_density(test, 0.0, best**2)
    assert result["sigma"] == best
    assert result["mean"] == pytest.approx(ll.mean()) and result["stderr"] == pytest.approx(ll.std(ddof=1) / 1000**0.5)


# ---- Frechet distance

def random_spd(rng, d, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T + (0 if rank else 0.1 * np.eye(d))


def test_frechet_of_identical_gaussians_is_zero_and_of_diagonal_ones_closed_form():
    rng = np.random.default_rng(4)
    mu, cov = rng.standard_normal(6), random_spd(rng, 6)
    assert abs(metrics.frechet_distance(mu, cov, mu, cov)) < 1e-9 * np.trace(cov)
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu2 = rng.standard_normal(6)
    expected = ((mu - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert metrics.frechet_distance(mu, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))  # a common rotation changes nothing
    assert metrics.frechet_distance(q @ mu, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T) == \
        pytest.approx(expected, rel=1e-8)


def test_frechet_against_scipy_sqrtm_including_singular_covariances():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(5)
    for rank in (None, 3):
        mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
        c1, c2 = random_spd(rng, 8, rank), random_spd(rng, 8)
        root = linalg.sqrtm(c1 @ c2).real
        expected = ((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * root)
        got = metrics.frechet_distance(mu1, c1, mu2, c2)
        assert got == pytest.approx(expected, rel=1e-7)
        assert got == pytest.approx(metrics.frechet_distance(mu2, c2, mu1, c1), rel=1e-7)


def test_feature_stats_and_bad_shapes():
    f = np.random.default_rng(6).standard_normal((100, 5)).astype(np.float32)
    mu, cov = metrics.feature_stats(f)
    centred = f.astype(np.float64) - f.astype(np.float64).sum(0) / 100
    np.testing.assert_allclose(mu, f.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, centred.T @ centred / 99, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="frechet_distance: shapes"):
        metrics.frechet_distance(mu, cov, mu[:4], cov)


# ---- class coverage

def test_class_coverage_counts_classes_with_at_least_2_percent():
    predicted = np.repeat(np.arange(5), [60, 30, 8, 2, 0])  # shares 60%, 30%, 8%, 2%, 0%
    probabilities = np.full((100, 5), 0.1)
    probabilities[np.arange(100), predicted] = 0.6
    stats = metrics.class_coverage(probabilities)
    assert stats == {"classes": 4, "confidence": pytest.approx(0.6)}
    assert metrics.class_coverage(probabilities, threshold=0.05)["classes"] == 3
