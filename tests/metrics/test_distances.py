import numpy as np
import pytest
import scipy.linalg

from ganforge.metrics import (
    class_coverage,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall_density_coverage,
)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fd_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_fd_is_symmetric():
    rng = np.random.default_rng(1)
    m1, m2, s1, s2 = rng.normal(size=6), rng.normal(size=6), random_spd(rng, 6), random_spd(rng, 6)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-10)


def test_fd_of_diagonal_gaussians_has_the_closed_form():
    # For commuting (diagonal) covariances: sum (m1-m2)^2 + sum (sqrt(a) - sqrt(b))^2.
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = ((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert expected == pytest.approx(10 + 1 + 1 + 6.25)
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_fd_of_full_covariances_has_the_closed_form():
    # S2 = R S1 R^T with R = c I rotated: S1 S2 = c^2 S1^2 when R = c I, so Tr sqrt = c Tr S1.
    rng = np.random.default_rng(2)
    s1 = random_spd(rng, 5)
    s2 = 4.0 * s1
    mu = rng.normal(size=5)
    # Tr(S1 + 4 S1 - 2 * 2 S1) = Tr(S1)
    assert frechet_distance(mu, s1, mu + 1, s2) == pytest.approx(5 + np.trace(s1), rel=1e-10)


def test_fd_matches_scipy_sqrtm():
    rng = np.random.default_rng(3)
    m1, m2, s1, s2 = rng.normal(size=20), rng.normal(size=20), random_spd(rng, 20), random_spd(rng, 20)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-6)


def test_fd_in_one_dimension():
    # N(0, 2^2) vs N(3, 5^2): 9 + (2 - 5)^2 = 18
    assert frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([3.0]), np.array([[25.0]])) == pytest.approx(18.0)


def test_fd_scales_with_the_square_of_the_features():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) * 1.5 + 0.3
    assert frechet_distance_from_features(3 * x, 3 * y) == pytest.approx(9 * frechet_distance_from_features(x, y), rel=1e-9)


def test_fd_with_singular_covariances_stays_real_and_non_negative():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 50)), rng.normal(size=(10, 50))  # 10 samples in 50-D: rank 9
    # Independently: with Xc = (x - mean) / sqrt(n - 1), S1 = Xc^T Xc and Tr sqrt(S1 S2) is the
    # nuclear norm of Xc Yc^T (the same non-zero eigenvalues), with no matrix square root taken.
    xc, yc = ((a - a.mean(0)) / np.sqrt(len(a) - 1) for a in (x, y))
    expected = (((x.mean(0) - y.mean(0)) ** 2).sum() + (xc ** 2).sum() + (yc ** 2).sum()
                - 2 * np.linalg.svd(xc @ yc.T, compute_uv=False).sum())
    assert frechet_distance_from_features(x, y) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_feature_statistics_and_shape_errors():
    mu, sigma = feature_statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert mu.tolist() == [1.0, 2.0] and sigma.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.raises(ValueError, match="expected"):
        feature_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_kid_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    same, std = kernel_inception_distance(x, y, subsets=20, subset_size=500)
    assert abs(same) < 3 * std + 1e-3
    values = [kernel_inception_distance(x, y + shift, subsets=20, subset_size=500)[0] for shift in (0.25, 0.5, 1.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_kid_by_hand_on_tiny_sets():
    x, y = np.array([[1.0], [0.0]]), np.array([[2.0], [-1.0]])
    # k(a, b) = (ab + 1)^3 with d = 1. Off-diagonal means: kxx = 1, kyy = (-2 + 1)^3 = -1;
    # kxy mean = ((3)^3 + 0^3 + 1 + 1) / 4 = 29 / 4. MMD^2 = 1 - 1 - 2 * 29 / 4 = -14.5
    mean, std = kernel_inception_distance(x, y, subsets=3, subset_size=2)
    assert mean == pytest.approx(-14.5) and std == pytest.approx(0.0)
    # The same points in 2-D: k(a, b) = (a.b / d + 1)^3 divides by d = 2, so the kernel values and
    # the -14.5 stay (without the 1/d it would be -89).
    mean, _ = kernel_inception_distance(np.repeat(x, 2, 1), np.repeat(y, 2, 1), subsets=3, subset_size=2)
    assert mean == pytest.approx(-14.5)


def test_inception_score_closed_forms():
    k = 10
    uniform_one_hot = np.eye(k)[np.arange(1000) % k]
    assert inception_score(uniform_one_hot, splits=10)[0] == pytest.approx(k)
    identical = np.tile(np.full(k, 1 / k), (100, 1))
    assert inception_score(identical, splits=5)[0] == pytest.approx(1.0)
    same_class = np.tile(np.eye(k)[3], (100, 1))
    assert inception_score(same_class, splits=5) == pytest.approx((1.0, 0.0))
    # Two equally used classes, predictions 0.9/0.1: exp(KL) = exp(0.9 ln 1.8 + 0.1 ln 0.2)
    p = np.array([[0.9, 0.1], [0.1, 0.9]] * 50)
    assert inception_score(p, splits=1)[0] == pytest.approx(np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2)))
    # Each split uses its own marginal: halves of 5 classes each score 5 apiece (one marginal for
    # all 1,000 rows would give 10).
    halves = np.eye(k)[np.r_[np.arange(500) % 5, 5 + np.arange(500) % 5]]
    assert inception_score(halves, splits=2) == pytest.approx((5.0, 0.0))


def test_prdc_identical_sets():
    x = np.random.default_rng(7).normal(size=(400, 4))
    out = precision_recall_density_coverage(x, x, k_pr=3, k_dc=5)
    assert out["precision"] == 1 and out["recall"] == 1 and out["coverage"] == 1
    # Each point lies in its own ball and in the balls of its k nearest neighbours' ... summed over
    # all balls: every ball holds itself + k points, so density = (k + 1) / k.
    assert out["density"] == pytest.approx(6 / 5)


def test_prdc_disjoint_sets():
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(200, 3)), rng.normal(size=(200, 3)) + 100
    assert precision_recall_density_coverage(real, fake) == {"precision": 0, "recall": 0, "density": 0, "coverage": 0}


def test_prdc_known_overlap():
    # Reals: 100 points on a line, spacing 1; 3rd-nearest-neighbour radius 2 inside, 3 at the ends.
    # Fakes: copies of reals 0..49 and 50 points far away -> precision 0.5.
    real = np.arange(100.0)[:, None]
    fake = np.concatenate([np.arange(50.0), np.arange(50.0) + 1000])[:, None]
    out = precision_recall_density_coverage(real, fake, k_pr=3, k_dc=3)
    assert out["precision"] == 0.5
    assert out["recall"] == pytest.approx(53 / 100)  # reals 0..52 lie within radius 3 of fake 49
    assert out["coverage"] == pytest.approx(52 / 100)  # reals 0..51 have a fake within radius 2


def brute_force_prdc(real, fake, k_pr=3, k_dc=5):
    """The definitions, with every squared distance from float64 differences."""
    sq = lambda a, b: ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)  # noqa: E731
    rr, ff, rf = sq(real, real), sq(fake, fake), sq(real, fake)
    r_pr, r_dc, f_pr = (np.sort(rr, 1)[:, k_pr], np.sort(rr, 1)[:, k_dc], np.sort(ff, 1)[:, k_pr])
    return {"precision": (rf <= r_pr[:, None]).any(0).mean(), "recall": (rf <= f_pr[None, :]).any(1).mean(),
            "density": (rf <= r_dc[:, None]).sum(0).mean() / k_dc, "coverage": (rf <= r_dc[:, None]).any(1).mean()}


def test_prdc_is_exact_at_near_ties():
    # Fakes placed on the k-NN spheres of reals, 1e-7 (relative) inside or outside: float32
    # distances cannot tell these apart, the result must still be the float64 one.
    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 64)) * 10 + 50  # large norms: the hard case for |a|^2 + |b|^2 - 2ab
    radii = np.sqrt(np.sort(((real[:, None] - real[None]) ** 2).sum(-1), 1)[:, 5])
    direction = rng.normal(size=(300, 64))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    fake = real + direction * radii[:, None] * np.where(np.arange(300) % 2, 1 + 1e-7, 1 - 1e-7)[:, None]
    fake[:20] = real[100:120]  # exact copies too
    out = precision_recall_density_coverage(real, fake)
    assert out == pytest.approx(brute_force_prdc(real, fake), abs=0)
    assert 0 < out["coverage"] < 1


def test_prdc_over_several_blocks_and_crowded_spheres():
    # 1,500 points span two blocks of the symmetric k-NN pass. Around real[0], 40 reals sit at
    # distances r (1 + i 1e-8): closer together than float32 can tell, so that row's band of
    # candidates runs past the 16 neighbours kept per row and must be recomputed whole; its 3rd
    # neighbour is at r (1 + 2e-8), and one fake at r (1 + 2.5e-8) lies just outside that ball.
    rng = np.random.default_rng(5)
    real = rng.normal(size=(1500, 8)) * 3
    directions = rng.normal(size=(41, 8))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    r = 0.01
    real[1:41] = real[0] + r * (1 + np.arange(40)[:, None] * 1e-8) * directions[:40]
    real[100:120] = real[100]  # exact duplicates too
    fake = np.concatenate([real[:700] + rng.normal(size=(700, 8)) * 0.05, rng.normal(size=(600, 8)) + 1])
    fake[0] = real[0] + r * (1 + 2.5e-8) * directions[40]
    out = precision_recall_density_coverage(real, fake, k_pr=3, k_dc=3)
    assert out == pytest.approx(brute_force_prdc(real, fake, k_pr=3, k_dc=3), abs=0)


def test_class_coverage():
    probs = np.eye(4)[[0, 0, 1, 2]] * 0.95 + 0.05 / 4
    out = class_coverage(probs, confidence=0.9)
    assert out["histogram"] == [2, 1, 1, 0] and out["classes_covered"] == 3
    assert out["class_entropy"] == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))
    assert out["confident_fraction"] == 1.0 and out["max_entropy"] == pytest.approx(np.log(4))


def test_metrics_refuse_mismatched_or_too_few_samples():
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="feature sizes differ: 3 and 4"):
        kernel_inception_distance(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match=r"expected \(N >= splits=10, K\) probabilities"):
        inception_score(np.full((5, 2), 0.5), splits=10)
    with pytest.raises(ValueError, match="need more than k=5 samples, got 5"):
        precision_recall_density_coverage(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), k_pr=5, k_dc=5)
