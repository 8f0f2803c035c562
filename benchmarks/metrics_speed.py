"""Speed and memory of the metric code: FD on 10k x 2048 features (against scipy's sqrtm form),
KID, precision/recall/density/coverage (against the float64 torch.cdist version ganforge used
until 2026-12-04, same results checked), and feature extraction images/s (Inception: against
the plain TorchScript module at batch 50, as ganforge ran it until 2026-12-04).

    python benchmarks/metrics_speed.py [--n 10000] [--dim 2048] [--inception-images 96]
        [--features REAL.npy,FAKE.npy]   # PRDC also on saved (N, D) features, e.g. Inception's

Memory is the peak of numpy allocations (tracemalloc) during each call. Prints a table.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import torch

from ganforge.evaluation import classifier_extractor
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


def prdc_float64_cdist(real, fake, k_pr=3, k_dc=5):
    """The previous implementation: float64 torch.cdist blocks of 1024 rows."""
    def chunks(a, b):
        tb = torch.from_numpy(b)
        for start in range(0, len(a), 1024):
            yield start, torch.cdist(torch.from_numpy(a[start:start + 1024]), tb).numpy()

    def radii(x, k):
        return np.concatenate([np.partition(block, k, axis=1)[:, k] for _, block in chunks(x, x)])

    real_pr, fake_pr, real_dc = radii(real, k_pr), radii(fake, k_pr), radii(real, k_dc)
    in_real, per_fake = np.zeros(len(fake), bool), np.zeros(len(fake), np.int64)
    near_fake, has_fake = np.zeros(len(real), bool), np.zeros(len(real), bool)
    for start, block in chunks(real, fake):
        rows = slice(start, start + len(block))
        in_real |= (block <= real_pr[rows, None]).any(0)
        inside = block <= real_dc[rows, None]
        per_fake += inside.sum(0)
        has_fake[rows] = inside.any(1)
        near_fake[rows] = (block <= fake_pr[None, :]).any(1)
    return {"precision": float(in_real.mean()), "recall": float(near_fake.mean()),
            "density": float(per_fake.mean() / k_dc), "coverage": float(has_fake.mean())}


def inception_rows(count: int) -> list:
    """images/s of the Inception extractor now, and of the plain TorchScript module it ran before."""
    import warnings

    from ganforge.evaluation import InceptionExtractor, inception_input

    extractor = InceptionExtractor(mode="legacy-pytorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        plain = torch.jit.load(str(extractor.path)).eval()
    images = torch.rand(count, 1, 28, 28) * 2 - 1

    @torch.inference_mode()
    def before():
        return torch.cat([plain(inception_input(b, "legacy-pytorch")) for b in images.split(50)]).double().numpy()

    extractor.features(images[:16]), before()  # warm-up
    old, old_s, _ = measure(before)
    new, new_s, _ = measure(lambda: extractor.features(images))
    rel = float(np.abs(new - old).max() / np.abs(old).max())
    return [(f"inception-v3 features, {count} images, plain TorchScript, batch 50 (before)", old_s, float("nan"),
             f"{count / old_s:.1f} images/s"),
            (f"inception-v3 features, {count} images, frozen + channels_last, batch 16", new_s, float("nan"),
             f"{count / new_s:.1f} images/s ({old_s / new_s:.2f}x; max rel. diff {rel:.1e})")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--prdc-dims", default="128,2048", help="feature sizes for PRDC (classifier's, Inception's)")
    parser.add_argument("--inception-images", type=int, default=96, help="0 skips the Inception rows")
    parser.add_argument("--features", help="REAL.npy,FAKE.npy: PRDC also on these saved features")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.dim))
    y = rng.normal(size=(args.n, args.dim)) * 1.1 + 0.1
    (s1, s2), stats_s, stats_mb = measure(lambda: (feature_statistics(x), feature_statistics(y)))
    rows = [(f"mean + covariance of 2 x {args.n}x{args.dim}", stats_s, stats_mb, "")]
    fd, fd_s, fd_mb = measure(lambda: frechet_distance(*s1, *s2))
    ref, ref_s, ref_mb = measure(lambda: scipy_fd(*s1, *s2))
    rows.append((f"FD from statistics, eigh form ({args.dim}-d)", fd_s, fd_mb, f"{fd:.4f}"))
    rows.append(("FD from statistics, scipy sqrtm form", ref_s, ref_mb, f"{ref:.4f}"))
    kid, kid_s, kid_mb = measure(lambda: kernel_inception_distance(x, y, subsets=100, subset_size=1000))
    rows.append((f"KID, 100 subsets of 1000 ({args.dim}-d)", kid_s, kid_mb, f"{kid[0]:.5f}"))
    sets = []
    for dim in map(int, args.prdc_dims.split(",")):
        # Non-negative like ReLU features; the fakes partly overlap the reals.
        a = np.abs(x[:, :dim])
        b = np.abs(np.concatenate([x[: args.n // 2, :dim] + 0.3 * y[: args.n // 2, :dim], y[args.n // 2:, :dim]]))
        sets.append((f"{args.n} vs {args.n} ({dim}-d)", a, b))
    if args.features:
        real_path, fake_path = args.features.split(",")
        a, b = np.load(real_path).astype(np.float64), np.load(fake_path).astype(np.float64)
        sets.append((f"{len(a)} vs {len(b)} ({a.shape[1]}-d, {real_path} vs {fake_path})", a, b))
    for label, a, b in sets:
        old, old_s, old_mb = measure(lambda: prdc_float64_cdist(a, b))
        prdc, prdc_s, prdc_mb = measure(lambda: precision_recall_density_coverage(a, b))
        same = max(abs(prdc[k] - old[k]) for k in old)
        rows.append((f"PRDC, {label}, float64 cdist (before)", old_s, old_mb,
                     ", ".join(f"{k} {v:.4f}" for k, v in old.items())))
        rows.append((f"PRDC, {label}, float32 + exact near thresholds", prdc_s, prdc_mb,
                     f"{old_s / prdc_s:.1f}x; largest difference {same:.1e}"))
    extractor = classifier_extractor()
    images = torch.rand(5000, 1, 28, 28) * 2 - 1
    extractor.features(images[:500])  # warm-up
    _, ext_s, _ = measure(lambda: extractor.features(images))
    rows.append(("mnist-classifier features, 5000 images", ext_s, float("nan"), f"{5000 / ext_s:,.0f} images/s"))
    if args.inception_images:
        rows.extend(inception_rows(args.inception_images))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, numpy {np.__version__}\n")
    print("| computation | seconds | peak numpy MB | result |\n|---|---:|---:|---|")
    for name, seconds, mb, result in rows:
        print(f"| {name} | {seconds:.2f} | {'' if mb != mb else f'{mb:,.0f}'} | {result} |")


if __name__ == "__main__":
    main()
