import numpy as np
import pytest
import torch

from ganforge.apps.segmentation import colourise, detect, evaluate_segmenter, one_hot_targets, predict, train_segmenter
from ganforge.data.scenes import compose_scenes
from ganforge.errors import InputError
from ganforge.metrics.detection import mean_average_precision
from tests.data.test_scenes import glyphs


def test_detect_turns_components_into_scored_boxes():
    label_map = torch.zeros(1, 10, 10, dtype=torch.int64)
    label_map[0, 1:4, 1:5] = 3  # class 2, 12 pixels
    label_map[0, 6:9, 6:9] = 1  # class 0, 9 pixels
    label_map[0, 0, 9] = 1  # a single stray pixel: dropped
    scores = torch.zeros(1, 4, 10, 10)
    scores[0, 3] = 0.8
    scores[0, 1] = 0.6
    boxes, confidences, classes = detect(label_map, scores, min_pixels=4)[0]
    order = np.argsort(classes)
    assert classes[order].tolist() == [0, 2]
    assert boxes[order].tolist() == [[6, 6, 9, 9], [1, 1, 5, 4]]
    assert np.allclose(confidences[order], [0.6, 0.8])


def test_ground_truth_label_maps_score_perfectly():
    scenes = compose_scenes(*glyphs(), n=6, size=40, seed=0)
    detections = detect(scenes.masks, one_hot_targets(scenes.masks, 4).add(1).div(2), min_pixels=1)
    truths = [(b.numpy(), lab.numpy()) for b, lab in zip(scenes.boxes, scenes.labels)]
    assert mean_average_precision(detections, truths)["map50_95"] == pytest.approx(1.0)


def test_tiny_segmenter_trains_and_scores():
    train = compose_scenes(*glyphs(), n=48, size=32, seed=1)
    test = compose_scenes(*glyphs(), n=8, size=32, seed=2)
    result, config = train_segmenter(train, 4, steps=40, batch_size=8, width=8)
    scores = evaluate_segmenter(result.generator, test, 4)
    assert set(scores) == {"pixel_accuracy", "miou", "map50", "map50_95"}
    # Most pixels are background: even a short run gets them right.
    assert scores["pixel_accuracy"] > 0.7 and 0 <= scores["miou"] <= 1
    labels, values = predict(result.generator, test.images)
    assert labels.shape == (8, 32, 32) and values.shape == (8, 4, 32, 32)
    assert colourise(labels, 4).shape == (8, 3, 32, 32)
    with pytest.raises(InputError, match="takes"):
        predict(result.generator, torch.zeros(1, 1, 32, 32))
    with pytest.raises(InputError, match="num_classes"):
        train_segmenter(train, 2, steps=1)


def test_segmenter_losses_give_probabilities_and_bad_settings_fail():
    train = compose_scenes(*glyphs(), n=16, size=32, seed=1)
    test = compose_scenes(*glyphs(), n=4, size=32, seed=2)
    for loss, output in (("cross_entropy", "logits"), ("l1", "tanh")):
        result, config = train_segmenter(train, 4, steps=2, batch_size=4, width=8, loss=loss, adversarial_weight=0)
        assert result.generator.output == output and config.depth == 3
        labels, values = predict(result.generator, test.images)
        assert values.min() >= 0 and values.max() <= 1 and torch.equal(values.argmax(1), labels)
        if loss == "cross_entropy":
            assert torch.allclose(values.sum(1), torch.ones(4, 32, 32), atol=1e-5)
    with pytest.raises(InputError, match="--loss must be one of"):
        train_segmenter(train, 4, steps=1, loss="dice")
    with pytest.raises(InputError, match="--depth 6"):
        train_segmenter(train, 4, steps=1, depth=6)
