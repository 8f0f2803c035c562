"""Speed and memory of the metric code: FD on 10k x 2048 features (against scipy's sqrtm form),
KID, precision/recall/density/coverage, and feature extraction images/s.

    python benchmarks/metrics_speed.py [--n 10000] [--dim 2048]

Memory is the peak of numpy allocations (tracemalloc) during each call. Prints a table.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import torch

from ganforge.evaluation import mnist_classifier_extractor
from ganforge.metrics import (
    feature_statistics,
    frechet_distance,
    kernel_inception_distance,
    precision_recall_density_coverage,
)


def measure(fn):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def scipy_fd(mu1, s1, mu2, s2):
    import scipy.linalg

    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--prdc-dim", type=int, default=128, help="feature size for PRDC (the classifier's)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.dim))
    y = rng.normal(size=(args.n, args.dim)) * 1.1 + 0.1
    (s1, s2), stats_s, stats_mb = measure(lambda: (feature_statistics(x), feature_statistics(y)))
    rows = [(f"mean + covariance of 2 x {args.n}x{args.dim}", stats_s, stats_mb, "")]
    fd, fd_s, fd_mb = measure(lambda: frechet_distance(*s1, *s2))
    ref, ref_s, ref_mb = measure(lambda: scipy_fd(*s1, *s2))
    rows.append((f"FD from statistics, eigh form ({args.dim}-d)", fd_s, fd_mb, f"{fd:.4f}"))
    rows.append((f"FD from statistics, scipy sqrtm form", ref_s, ref_mb, f"{ref:.4f}"))
    kid, kid_s, kid_mb = measure(lambda: kernel_inception_distance(x, y, subsets=100, subset_size=1000))
    rows.append((f"KID, 100 subsets of 1000 ({args.dim}-d)", kid_s, kid_mb, f"{kid[0]:.5f}"))
    a, b = x[:, :args.prdc_dim].copy(), y[:, :args.prdc_dim].copy()
    prdc, prdc_s, prdc_mb = measure(lambda: precision_recall_density_coverage(a, b))
    rows.append((f"PRDC, {args.n} vs {args.n} ({args.prdc_dim}-d)", prdc_s, prdc_mb, f"precision {prdc['precision']:.3f}"))
    extractor = mnist_classifier_extractor()
    images = torch.rand(5000, 1, 28, 28) * 2 - 1
    extractor.features(images[:500])  # warm-up
    _, ext_s, _ = measure(lambda: extractor.features(images))
    rows.append(("mnist-classifier features, 5000 images", ext_s, float("nan"), f"{5000 / ext_s:,.0f} images/s"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, numpy {np.__version__}\n")
    print("| computation | seconds | peak numpy MB | result |\n|---|---:|---:|---|")
    for name, seconds, mb, result in rows:
        print(f"| {name} | {seconds:.2f} | {'' if mb != mb else f'{mb:,.0f}'} | {result} |")


if __name__ == "__main__":
    main()
