import torch

from ganforge.data import load_shapes, make_shapes
from ganforge.data.shapes import SHAPE_CLASSES


def test_same_seed_same_data():
    a, b = make_shapes(5, 24, seed=7, max_shapes=3), make_shapes(5, 24, seed=7, max_shapes=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert all(torch.equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert not torch.equal(a.images, make_shapes(5, 24, seed=8, max_shapes=3).images)


def test_masks_boxes_and_labels_agree():
    scenes = make_shapes(20, 32, seed=1, max_shapes=3)
    assert scenes.images.shape == (20, 3, 32, 32) and scenes.masks.shape == (20, 32, 32)
    for mask, boxes, labels in zip(scenes.masks, scenes.boxes, scenes.labels):
        assert 1 <= len(labels) <= 3 and boxes.shape == (len(labels), 4)
        # Every foreground pixel lies in a box of a shape of its class...
        covered = torch.zeros_like(mask, dtype=torch.bool)
        for (x0, y0, x1, y1), cls in zip(boxes.tolist(), labels.tolist()):
            covered[y0:y1, x0:x1] |= mask[y0:y1, x0:x1] == cls + 1
        assert torch.equal(covered, mask > 0)
        # ...and the top-most shape's box is tight on its class's pixels.
        x0, y0, x1, y1 = boxes[-1].tolist()
        region = mask[y0:y1, x0:x1] == labels[-1] + 1
        assert region[0].any() and region[-1].any() and region[:, 0].any() and region[:, -1].any()
        assert set(mask.unique().tolist()) <= {0} | {c + 1 for c in labels.tolist()}


def test_shapes_are_visible():
    scenes = make_shapes(10, 32, seed=2)
    for image, mask in zip(scenes.images, scenes.masks):
        fg, bg = image[:, mask > 0].float(), image[:, mask == 0].float()
        assert (fg.mean(1) - bg.mean(1)).abs().max() > 40  # at least one channel clearly differs


def test_dataset_view():
    ds = load_shapes(16, image_size=16, channels=1, seed=0)
    image, label = ds[0]
    assert image.shape == (1, 16, 16) and -1 <= image.min() and image.max() <= 1
    assert ds.classes == SHAPE_CLASSES and 0 <= label < 3
