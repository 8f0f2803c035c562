"""Distances between sets of features, each a pure function computed in float64.

References:
- Frechet distance / FID: Heusel et al. 2017, "GANs trained by a two time-scale update rule
  converge to a local Nash equilibrium".
- KID: Binkowski et al. 2018, "Demystifying MMD GANs" (unbiased MMD^2, cubic polynomial kernel).
- Inception Score: Salimans et al. 2016, "Improved techniques for training GANs".
- Precision/recall: Kynkaanniemi et al. 2019; density/coverage: Naeem et al. 2020.
"""

from __future__ import annotations

import math
import numpy as np
import torch


def _as_features(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name}: expected (N >= 2, D) features, got shape {x.shape}")
    return x


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of (N, D) features."""
    x = _as_features(features, "features")
    return x.mean(0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix through eigh (real, stable)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians.

    Tr((S1 S2)^(1/2)) is computed as Tr((A S2 A)^(1/2)) with A = S1^(1/2): the two matrices are
    similar, so they have the same eigenvalues, but A S2 A is symmetric PSD, so a symmetric
    eigendecomposition gives its real non-negative eigenvalues directly. A general matrix square
    root of the non-symmetric S1 S2 (scipy.linalg.sqrtm) is slower and, with near-singular
    covariances (fewer samples than dimensions), returns complex values and errors that need
    ad-hoc fixes.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {sigma1.shape}, {sigma2.shape}")
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)
    return max(value, 0.0)


def frechet_distance_from_features(x: np.ndarray, y: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(x), *feature_statistics(y))


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3."""
    d, m, n = x.shape[1], len(x), len(y)
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kernel_inception_distance(x: np.ndarray, y: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of the unbiased polynomial-kernel MMD^2 over random subsets
    (drawn without replacement within a subset) of min(subset_size, len(x), len(y)) features."""
    x, y = _as_features(x, "x"), _as_features(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} and {y.shape[1]}")
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = [_polynomial_mmd2(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def inception_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))), mean and std over `splits` equal parts of (N, K) class
    probabilities. K equally likely, confident classes give K; identical predictions give 1."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or len(p) < splits:
        raise ValueError(f"expected (N >= splits={splits}, K) probabilities, got shape {p.shape}")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(0, keepdims=True)
        # 0 * log 0 = 0: terms with p(y|x) = 0 contribute nothing.
        kl = np.where(part > 0, part * (np.log(np.where(part > 0, part, 1)) - np.log(np.where(marginal > 0, marginal, 1))), 0)
        scores.append(np.exp(kl.sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


CHUNK = 1024  # rows of a distance matrix held at once: memory stays O(CHUNK x N)
EPS32 = float(np.finfo(np.float32).eps)
DENSE_ROW = 64  # a row with more near-threshold pairs than this is recomputed whole in float64


class _Points:
    """Features in float64 and float32 with their squared norms (converted once, reused)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        x64 = torch.from_numpy(x)
        self.x32 = x64.float()
        sq = torch.einsum("ij,ij->i", x64, x64)
        self.sq, self.sq32 = sq.numpy(), sq.float()


class _SquaredDistances:
    """Squared Euclidean distances from rows of `a` to all rows of `b`, fast and still exact
    where it matters.

    Each block is computed in float32 as |a|^2 + |b|^2 - 2 a.b (one matrix product). By the
    standard bound on a d-term float32 dot product (plus the rounding of the inputs and of a
    threshold to float32), such a value is within M_i = (2d + 16) eps32 (|a_i|^2 + max_j |b_j|^2)
    of the exact one, so a comparison that the float32 value decides by more than M_i is decided
    correctly; `exact` recomputes the pairs inside that band in float64 (|a|^2 + |b|^2 - 2 a.b
    again, with float64 rounding: ~1e-13 relative, as float64 distance code has).
    """

    def __init__(self, a: "_Points", b: "_Points") -> None:
        self.a, self.b, self.a32, self.b32 = a.x, b.x, a.x32, b.x32
        self.a_sq, self.b_sq, self.a_sq32, self.b_sq32 = a.sq, b.sq, a.sq32, b.sq32
        self.b_sq_max, self.scale = float(self.b_sq.max()), (2 * a.x.shape[1] + 16) * EPS32

    def blocks(self):
        """Yield (row offset, float32 block (rows, len(b)), per-row margin M_i as a (rows, 1) column)."""
        for start in range(0, len(self.a), CHUNK):
            rows = slice(start, min(start + CHUNK, len(self.a)))
            yield start, self.block(rows), self.margins(rows)

    def block(self, rows: slice, cols: slice = slice(None)) -> torch.Tensor:
        """float32 squared distances from a[rows] to b[cols]."""
        return torch.addmm(self.a_sq32[rows, None] + self.b_sq32[None, cols], self.a32[rows], self.b32[cols].T,
                           alpha=-2)

    def margins(self, rows: slice = slice(None)) -> torch.Tensor:
        """M_i of the rows of `a`, as a float32 (rows, 1) column."""
        return torch.from_numpy(self.scale * (self.a_sq[rows] + self.b_sq_max)).float()[:, None]

    def exact(self, start: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """float64 squared distances of the pairs (start + i, j): rows with many such pairs get their
        whole row from one float64 matrix product, the others a dot product per pair."""
        out = np.empty(len(i))
        counts = np.bincount(i) if len(i) else np.zeros(0, np.int64)
        dense = np.nonzero(counts > DENSE_ROW)[0]
        in_dense = np.zeros(len(counts), dtype=bool)
        in_dense[dense] = True
        where = in_dense[i] if len(i) else np.zeros(0, dtype=bool)
        if len(dense):
            index = np.full(len(counts), -1)
            index[dense] = np.arange(len(dense))
            rows = torch.from_numpy(self.a[start + dense]) @ torch.from_numpy(self.b).T
            full = (self.a_sq[start + dense, None] + self.b_sq[None, :]) - 2 * rows.numpy()
            out[where] = full[index[i[where]], j[where]]
        sparse = np.nonzero(~where)[0]
        for s in range(0, len(sparse), 4096):
            part = sparse[s:s + 4096]
            dots = np.einsum("ij,ij->i", self.a[start + i[part]], self.b[j[part]])
            out[part] = self.a_sq[start + i[part]] + self.b_sq[j[part]] - 2 * dots
        return out


KEEP = 16  # nearest neighbours kept per row while the symmetric distance blocks stream past


def _knn_radii(points: _Points, ks: tuple[int, ...]) -> dict[int, np.ndarray]:
    """For each k: the squared distance from each row to its k-th nearest other row, exact in float64.

    The distance matrix is symmetric, so only blocks on and above the diagonal are computed; each
    updates the KEEP nearest of its rows and (transposed) of its columns. With t the exact k-th
    value and kth its float32 estimate, |t - kth| <= M_i: kept entries below kth - 2 M_i are
    exactly before t, and t is the (k - below)-th smallest exact value of the band within 2 M_i of
    kth. A row whose band may reach past its KEEP kept entries is recomputed whole in float64.
    """
    top, n = max(ks), len(points.x)
    if n <= top:
        raise ValueError(f"need more than k={top} samples, got {n}")
    keep = min(n, max(KEEP, top + 1))
    distances = _SquaredDistances(points, points)
    best = torch.full((n, keep), math.inf)
    where = torch.zeros((n, keep), dtype=torch.int64)

    def merge(rows: slice, block: torch.Tensor, offset: int) -> None:
        values, index = torch.topk(block, min(keep, block.shape[1]), dim=1, largest=False)
        values, order = torch.topk(torch.cat([best[rows], values], 1), keep, dim=1, largest=False)
        where[rows] = torch.gather(torch.cat([where[rows], index + offset], 1), 1, order)
        best[rows] = values

    for i in range(0, n, CHUNK):
        rows = slice(i, min(i + CHUNK, n))
        for j in range(i, n, CHUNK):
            cols = slice(j, min(j + CHUNK, n))
            block = distances.block(rows, cols)
            if i == j:
                block.fill_diagonal_(0.0)  # itself: position k is the k-th other
            merge(rows, block, j)
            if i != j:
                merge(cols, block.T, i)
    margin = distances.margins()
    radii = {}
    for k in ks:
        kth = best[:, k:k + 1]
        below = (best < kth - 2 * margin).sum(1).numpy()
        in_band = (best - kth).abs() <= 2 * margin
        whole = (best[:, -1:] <= kth + 2 * margin).squeeze(1).numpy() & (keep < n)  # band may go on past KEEP
        in_band[torch.from_numpy(whole)] = False
        i, slot = (t.numpy() for t in torch.nonzero(in_band, as_tuple=True))
        j = where.numpy()[i, slot]
        values = distances.exact(0, i, j)
        values[i == j] = 0.0
        counts = np.bincount(i, minlength=n)
        band = np.full((n, max(1, counts.max())), np.inf)
        band[i, np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)] = values
        band.sort(axis=1)
        radius = band[np.arange(n), np.clip(k - below, 0, band.shape[1] - 1)]
        for r in np.nonzero(whole)[0]:
            row = points.sq[r] + points.sq - 2 * (points.x @ points.x[r])
            row[r] = 0.0
            radius[r] = np.partition(row, k)[k]
        radii[k] = radius
    return radii


def precision_recall_density_coverage(real: np.ndarray, fake: np.ndarray, k_pr: int = 3,
                                      k_dc: int = 5) -> dict[str, float]:
    """k-NN manifold metrics between (N, D) real and (M, D) fake features.

    precision: fraction of fakes inside some real k-NN ball (k = k_pr);
    recall: fraction of reals inside some fake k-NN ball (k = k_pr);
    density: mean number of real k-NN balls (k = k_dc) containing each fake, divided by k_dc;
    coverage: fraction of reals whose k-NN ball (k = k_dc) contains at least one fake.
    Every distance comparison is decided as in exact float64 (see `_SquaredDistances`).
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    real_points, fake_points = _Points(real), _Points(fake)
    real_radii = _knn_radii(real_points, tuple(sorted({k_pr, k_dc})))
    real_pr, real_dc, fake_pr = real_radii[k_pr], real_radii[k_dc], _knn_radii(fake_points, (k_pr,))[k_pr]
    fake_pr32 = torch.from_numpy(fake_pr).float()[None, :]
    fake_in_real_ball = torch.zeros(len(fake), dtype=torch.bool)
    real_balls_per_fake = torch.zeros(len(fake), dtype=torch.int64)
    real_near_fake = np.zeros(len(real), dtype=bool)
    real_ball_has_fake = np.zeros(len(real), dtype=bool)
    distances = _SquaredDistances(real_points, fake_points)
    for start, block, margin in distances.blocks():  # block: (chunk of reals, M fakes)
        rows = slice(start, start + len(block))
        low, high = block - margin, block + margin  # the exact value lies in [low, high]
        inside, unsure = [], torch.zeros_like(block, dtype=torch.bool)
        for radius in (torch.from_numpy(real_pr[rows]).float()[:, None],
                       torch.from_numpy(real_dc[rows]).float()[:, None], fake_pr32):
            sure = high <= radius
            unsure |= (low <= radius) & ~sure
            inside.append(sure)
        i, j = torch.nonzero(unsure, as_tuple=True)
        if len(i):  # decide the pairs near a radius exactly
            ii, jj = i.numpy(), j.numpy()
            values = distances.exact(start, ii, jj)
            for flags, radius in zip(inside, (real_pr[start + ii], real_dc[start + ii], fake_pr[jj])):
                flags[i, j] = torch.from_numpy(values <= radius)
        in_pr, in_dc, in_fake = inside
        fake_in_real_ball |= in_pr.any(0)
        real_balls_per_fake += in_dc.sum(0)
        real_ball_has_fake[rows] = in_dc.any(1).numpy()
        real_near_fake[rows] = in_fake.any(1).numpy()
    return {
        "precision": float(fake_in_real_ball.double().mean()),
        "recall": float(real_near_fake.mean()),
        "density": float(real_balls_per_fake.double().mean() / k_dc),
        "coverage": float(real_ball_has_fake.mean()),
    }


def class_coverage(probabilities: np.ndarray, confidence: float = 0.9) -> dict[str, float | list[int]]:
    """Mode coverage from (N, K) class probabilities: histogram of predicted classes, entropy of
    that histogram in nats (log K when every class is equally frequent), classes predicted at
    least once, and the fraction of samples predicted with probability >= `confidence`."""
    p = np.asarray(probabilities, dtype=np.float64)
    counts = np.bincount(p.argmax(1), minlength=p.shape[1])
    freq = counts / counts.sum()
    entropy = float(-(freq[freq > 0] * np.log(freq[freq > 0])).sum())
    return {"histogram": counts.tolist(), "class_entropy": entropy, "max_entropy": float(np.log(p.shape[1])),
            "classes_covered": int((counts > 0).sum()), "confident_fraction": float((p.max(1) >= confidence).mean())}
