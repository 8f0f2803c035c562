import numpy as np
import pytest

from ganforge.metrics.detection import (
    average_precision,
    box_iou,
    confusion_matrix,
    mean_average_precision,
    segmentation_scores,
)


def test_box_iou_by_hand():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 0, 3, 2], [0, 0, 2, 2], [5, 5, 6, 6]])
    assert np.allclose(box_iou(a, b), [[2 / 6, 1.0, 0.0]])


def test_map_perfect_disjoint_and_partial():
    truths = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([1, 2]))]
    perfect = [(truths[0][0], np.array([0.9, 0.8]), np.array([1, 2]))]
    assert mean_average_precision(perfect, truths)["map50"] == 1.0
    assert mean_average_precision(perfect, truths)["map50_95"] == 1.0
    disjoint = [(np.array([[40, 40, 50, 50], [60, 60, 70, 70]]), np.array([0.9, 0.8]), np.array([1, 2]))]
    assert mean_average_precision(disjoint, truths)["map50_95"] == 0.0
    wrong_class = [(truths[0][0], np.array([0.9, 0.8]), np.array([2, 1]))]
    assert mean_average_precision(wrong_class, truths)["map50"] == 0.0
    # Class 1 found with IoU 0.72 (matched at t = 0.50 ... 0.70: 5 of 10 thresholds), class 2 missed.
    shifted = np.array([[0, 0, 10, 10 / 0.72]])
    assert box_iou(shifted, truths[0][0][:1])[0, 0] == pytest.approx(0.72)
    partial = [(shifted, np.array([0.9]), np.array([1]))]
    result = mean_average_precision(partial, truths)
    assert result["map50"] == pytest.approx(0.5)  # AP 1 for class 1, 0 for class 2
    assert result["map50_95"] == pytest.approx(0.25)


def test_average_precision_with_a_false_positive_first():
    # Scores 0.9 (false), 0.5 (true), one true box: precision 1/2 at recall 1 -> AP 0.5.
    assert average_precision(np.array([0.9, 0.5]), np.array([False, True]), 1) == pytest.approx(0.5)
    # The other order: precision 1 at recall 1 -> AP 1.
    assert average_precision(np.array([0.5, 0.9]), np.array([False, True]), 1) == pytest.approx(1.0)
    assert np.isnan(average_precision(np.zeros(0), np.zeros(0, bool), 0))
    # One of two true boxes found: precision 1 at the 51 recall points 0, 0.01, ..., 0.50, then 0.
    assert average_precision(np.array([0.9]), np.array([True]), 2) == pytest.approx(51 / 101)


def test_each_true_box_matches_once():
    truths = [(np.array([[0, 0, 10, 10]]), np.array([1]))]
    duplicates = [(np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), np.array([0.9, 0.8]), np.array([1, 1]))]
    # Second detection is a false positive after the only box is taken: AP still 1 (it ranks last).
    assert mean_average_precision(duplicates, truths)["map50"] == pytest.approx(1.0)


def test_segmentation_scores_by_hand():
    target = np.array([[0, 0, 1, 1]])
    predicted = np.array([[0, 1, 1, 1]])
    confusion = confusion_matrix(predicted, target, 3)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    scores = segmentation_scores(confusion)
    assert scores["pixel_accuracy"] == 0.75
    # IoU class 0: 1 / (1 + 1) = 0.5; class 1: 2 / 3; class 2 absent -> left out.
    assert scores["miou"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert segmentation_scores(confusion_matrix(target, target, 2))["miou"] == 1.0
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix(np.array([2]), np.array([0]), 2)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="2 predicted images but 1 true ones"):
        mean_average_precision([(np.zeros((0, 4)), np.zeros(0), np.zeros(0))] * 2, [(np.zeros((0, 4)), np.zeros(0))])
    with pytest.raises(ValueError, match="differ in size"):
        confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 2)
