"""Sample-quality metrics for GANs, on NumPy or CuPy arrays (no autograd needed).

- ``mode_stats``: modes covered, % high-quality samples and reverse KL on the 2D mixtures
  (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018), by convention on 2,500 samples.
- ``parzen_*``: the Gaussian Parzen-window log-likelihood of Goodfellow et al. 2014.
- ``frechet_distance`` / ``feature_stats``: the Frechet distance between Gaussians fitted to features (FID's formula).
- ``class_coverage``: how many classes a classifier finds among generated samples, and how confidently.
"""
import math

import numpy as np

from . import backend, progress

MODE_SAMPLES = 2500  # samples drawn for mode_stats, as in VEEGAN and PacGAN
HQ_STDS = 3.0        # a sample is high quality within 3 std of its nearest mode
PARZEN_SIGMAS = np.logspace(-1, 0, 10)


def mode_stats(samples, centers, std):
    """{"modes", "high_quality" (%), "reverse_kl"} of 2D ``samples`` (N, 2) against the mixture's ``centers`` (K, 2).

    A sample is high quality (HQ) when it lies within 3 ``std`` of its nearest centre; a mode is covered
    when it is the nearest centre of at least one HQ sample. reverse_kl = KL(q || uniform) =
    sum_k q_k log(K q_k), q the histogram of HQ samples over modes (inf when there is no HQ sample).
    """
    samples = backend.to_numpy(samples).astype(np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    d2 = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1)              # n k
    nearest = d2.argmin(1)
    hq = np.sqrt(d2[np.arange(len(samples)), nearest]) <= HQ_STDS * std
    counts = np.bincount(nearest[hq], minlength=len(centers))
    q = counts[counts > 0] / max(hq.sum(), 1)
    kl = float(np.sum(q * np.log(len(centers) * q))) if hq.any() else math.inf
    return {"modes": int((counts > 0).sum()), "high_quality": 100.0 * float(hq.mean()), "reverse_kl": kl}


def parzen_log_likelihood(samples, test, sigma, batch_size=None):
    """log p(x) for each test point x under the Gaussian Parzen window of ``samples`` (float64).

    log p(x) = logsumexp_i(-|x - s_i|^2 / (2 sigma^2)) - log N - d/2 log(2 pi sigma^2).
    Test points go through in batches of ``batch_size`` (default: ~4M distances at a time).
    """
    return _parzen(samples, test, [sigma], batch_size, "Parzen: the test set")[0]


def _parzen(samples, test, sigmas, batch_size=None, desc="Parzen"):
    """(len(sigmas), M) log-likelihoods: each batch of distances serves every sigma. A progress bar named
    ``desc`` follows the batches (minigan.progress)."""
    xp = backend.array_module(samples)
    s = xp.asarray(samples, dtype=xp.float64).reshape(len(samples), -1)                   # n d
    x = xp.asarray(test, dtype=xp.float64).reshape(len(test), -1)                         # m d
    if s.shape[1] != x.shape[1]:
        raise ValueError(f"parzen_log_likelihood: samples {s.shape} and test {x.shape} differ in dimension")
    n, d = s.shape
    batch_size = batch_size or max(1, (1 << 22) // n)
    s2 = (s * s).sum(1)
    ll = []
    for i in progress.bar(range(0, len(x), batch_size), desc):
        d2 = _sq_dists(x[i:i + batch_size], s, s2)                                        # b n
        ll.append(xp.stack([_logsumexp(-d2 / (2 * sigma**2)) for sigma in sigmas]))       # sigmas b
    norm = xp.asarray([math.log(n) + d / 2 * math.log(2 * math.pi * sigma**2) for sigma in sigmas])
    return xp.concatenate(ll, axis=1) - norm[:, None]


def _sq_dists(x, s, s2):
    """|x_j - s_i|^2 = |x_j|^2 + |s_i|^2 - 2 x_j . s_i, clipped at 0 (b d, n d -> b n)."""
    return backend.array_module(x).maximum((x * x).sum(1)[:, None] + s2[None, :] - 2 * x @ s.T, 0)


def _logsumexp(a):
    """log sum_i exp(a[:, i]), shifted by the row max so nothing overflows (b n -> b)."""
    xp = backend.array_module(a)
    m = a.max(1)
    return m + xp.log(xp.exp(a - m[:, None]).sum(1))


def select_parzen_sigma(samples, validation, sigmas=PARZEN_SIGMAS):
    """The sigma in ``sigmas`` with the highest mean log-likelihood of ``validation``."""
    scores = backend.to_numpy(_parzen(samples, validation, list(sigmas), desc="Parzen: sigma").mean(1))
    return float(sigmas[int(np.argmax(scores))])


def parzen_evaluate(samples, validation, test, sigmas=PARZEN_SIGMAS):
    """{"sigma", "mean", "stderr"}: sigma chosen on ``validation``; the mean test log-likelihood and its standard
    error (as Goodfellow et al. 2014 report it, on 10,000 generated samples)."""
    sigma = select_parzen_sigma(samples, validation, sigmas)
    ll = backend.to_numpy(parzen_log_likelihood(samples, test, sigma))
    return {"sigma": sigma, "mean": float(ll.mean()), "stderr": float(ll.std(ddof=1) / math.sqrt(len(ll)))}


def feature_stats(features):
    """(mean (d,), covariance (d, d)) of ``features`` (N, d), float64 on the host; unbiased covariance."""
    f = backend.to_numpy(features).astype(np.float64).reshape(len(features), -1)
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1, cov1, mu2, cov2):
    """|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2), the squared W2 distance between two Gaussians.

    The root is taken of the symmetric PSD C1^1/2 C2 C1^1/2 through eigh, so it stays real; rounding's
    tiny negative eigenvalues are clipped to 0.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(f"frechet_distance: shapes mu {mu1.shape} {mu2.shape}, cov {cov1.shape} {cov2.shape}")
    root1 = _sqrtm_psd(cov1)
    middle = root1 @ cov2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * trace_root)


def _sqrtm_psd(a):
    """The symmetric square root of a symmetric PSD matrix: V sqrt(w) V^T."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def class_coverage(probabilities, threshold=0.02):
    """{"classes", "confidence"}: classes that get at least ``threshold`` of the argmax predictions of
    ``probabilities`` (N, classes), and the mean top probability."""
    p = backend.to_numpy(probabilities)
    share = np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)
    return {"classes": int((share >= threshold).sum()), "confidence": float(p.max(1).mean())}
