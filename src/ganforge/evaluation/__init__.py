"""Evaluate generated images against real ones: feature extraction + metrics + the real-vs-real floor.

Feature extractors are injected: anything with `name`, `features(images)` and optionally
`probabilities(images)`. The default for 28x28 grayscale digits is ganforge's own MNIST
classifier; its numbers are labelled "FD (mnist-classifier features)", never FID, which is
reserved for Inception-v3 features.
"""

from __future__ import annotations

from ganforge.evaluation.extractors import FeatureExtractor, ModuleExtractor, classifier_extractor
from ganforge.evaluation.inception import FID_MODES, InceptionExtractor, find_inception_file, inception_input
from ganforge.evaluation.pixels import as_pixels
from ganforge.evaluation.periodic import ClassifierPeriodicEvaluator, periodic_evaluator
from ganforge.evaluation.report import (
    METRICS,
    RealFeatures,
    Report,
    check_comparable,
    compare,
    conditional_accuracy,
    evaluate_features,
    evaluate_images,
    real_features,
)
from ganforge.evaluation.evaluate import EXTRACTORS, evaluate
from ganforge.evaluation.sources import images_from_source, mnist_reference, reference_images

__all__ = ["FeatureExtractor", "InceptionExtractor", "find_inception_file", "ModuleExtractor", "classifier_extractor", "ClassifierPeriodicEvaluator",
           "periodic_evaluator", "METRICS", "FID_MODES", "inception_input", "as_pixels", "check_comparable", "RealFeatures", "Report", "compare", "conditional_accuracy", "evaluate", "evaluate_features", "evaluate_images", "EXTRACTORS",
           "real_features", "images_from_source",
           "mnist_reference", "reference_images"]
