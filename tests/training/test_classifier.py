"""The feature classifiers: training on single- and multi-label data, accuracy, the scenes data."""

import pytest
import torch

from ganforge.data.shapes import SHAPE_CLASSES
from ganforge.errors import CheckpointError, DataError
from ganforge.models.classifier import SmallClassifier, classifier_report, load_classifier, packaged_weights_path
from ganforge.training.classifier import accuracy, fit_classifier, save_classifier, scene_classes


def _patches(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB 16x16 images with a bright square in zero, one or two of the four quadrants: (N, 4) targets."""
    g = torch.Generator().manual_seed(seed)
    targets = (torch.rand(n, 4, generator=g) < 0.4).float()
    images = torch.randint(0, 40, (n, 3, 16, 16), generator=g, dtype=torch.uint8)
    for q in range(4):
        top, left = 8 * (q // 2), 8 * (q % 2)
        images[targets[:, q] > 0, :, top + 2:top + 6, left + 2:left + 6] = 230
    return images, targets


def test_accuracy_of_single_and_multi_label_outputs():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, 4.0], [0.1, -0.1, -2.0], [-1.0, -1.0, -1.0]])

    images = torch.zeros(4, 1, 4, 4, dtype=torch.uint8)
    assert accuracy(Fixed(), images, torch.tensor([0, 2, 1, 0]), torch.device("cpu")) == 0.75
    presence = torch.tensor([[1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 0, 1.0]])  # last row: 3rd class missed
    assert accuracy(Fixed(), images, presence, torch.device("cpu")) == 0.75


def test_multi_label_classifier_learns_which_classes_appear():
    images, targets = _patches(768)
    model = fit_classifier(images, targets, epochs=6, batch_size=64, lr=3e-3, num_classes=4)
    assert model.input_shape == (3, 16, 16) and model.head.out_features == 4
    test_images, test_targets = _patches(256, seed=1)
    assert accuracy(model, test_images, test_targets, torch.device("cpu")) >= 0.95


def test_multi_label_targets_must_match_the_classes():
    images, targets = _patches(64)
    with pytest.raises(ValueError, match="targets have 4 classes, expected 13"):
        fit_classifier(images, targets, epochs=1, num_classes=13)


def test_scene_classes_targets_follow_the_drawn_objects():
    pytest.importorskip("mnist")  # scenes are made of MNIST digits
    images, targets = scene_classes("valid", limit=40)
    assert images.shape == (40, 3, 32, 32) and images.dtype == torch.uint8 and targets.shape == (40, 13)
    shapes, scenes = targets[:20], targets[20:]
    assert (shapes[:, :3].sum(1) == 1).all() and (shapes[:, 3:] == 0).all()  # one shape each, no digit
    assert (scenes[:, :3] == 0).all() and ((scenes[:, 3:].sum(1) >= 1) & (scenes[:, 3:].sum(1) <= 3)).all()
    again, _ = scene_classes("valid", limit=40)
    assert torch.equal(images, again)  # made from fixed seeds
    other, _ = scene_classes("test", limit=40)
    assert not torch.equal(images, other)
    with pytest.raises(DataError, match="split must be train, valid or test"):
        scene_classes("holdout", limit=4)


def test_saved_classifier_loads_with_its_shape(tmp_path):
    model = SmallClassifier(13, channels=3, image_size=32)
    path = tmp_path / "c.safetensors"
    save_classifier(model, {"channels": 3, "image_size": 32, "num_classes": 13}, path)
    loaded = load_classifier(path)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded(x), model.eval()(x))
    (tmp_path / "c.json").write_text('{"channels": 1, "image_size": 28, "num_classes": 10}')
    with pytest.raises(CheckpointError, match="do not fit a classifier of shape"):
        load_classifier(path)
    with pytest.raises(ValueError, match="no packaged classifier for 'cifar'"):
        packaged_weights_path("cifar")


def test_packaged_scenes_classifier_recognises_held_out_images():
    pytest.importorskip("mnist")
    report = classifier_report(packaged_weights_path("scenes"))
    assert report["dataset"] == "scenes" and report["test_accuracy"] >= 0.9
    images, targets = scene_classes("test", limit=200)
    model = load_classifier(packaged_weights_path("scenes"))
    assert model.input_shape == (3, 32, 32)
    assert accuracy(model, images, targets, torch.device("cpu")) >= report["test_accuracy"] - 0.05
    shapes = model(images[:100].float() / 127.5 - 1)[:, :len(SHAPE_CLASSES)].argmax(1)
    assert (shapes == targets[:100, :3].argmax(1)).float().mean() >= 0.95
