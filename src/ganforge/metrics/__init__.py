"""Sample-quality metrics: pure functions on feature / probability arrays (float64 numpy)."""

from ganforge.metrics.distances import (
    class_coverage,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall_density_coverage,
)
from ganforge.metrics.image_quality import psnr, ssim
from ganforge.metrics.modes import mode_coverage

# Which way each score a training run can be judged by improves (evaluation during training, the
# `best` checkpoint): Frechet distance and KID fall, Inception Score and class accuracy rise.
HIGHER_IS_BETTER = {"fd": False, "kid": False, "is": True, "accuracy": True}

__all__ = ["HIGHER_IS_BETTER", "psnr", "ssim", "feature_statistics", "frechet_distance", "frechet_distance_from_features",
           "kernel_inception_distance", "inception_score", "precision_recall_density_coverage",
           "class_coverage", "mode_coverage"]
