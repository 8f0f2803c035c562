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

__all__ = ["psnr", "ssim", "feature_statistics", "frechet_distance", "frechet_distance_from_features",
           "kernel_inception_distance", "inception_score", "precision_recall_density_coverage",
           "class_coverage", "mode_coverage"]
