import numpy as np
import pytest
import torch

from ganforge.data.scenes import compose_scenes
from ganforge.errors import DataError


def glyphs():
    """Three made-up 'digits': a filled square, a bar and a ring, labelled 0, 1, 2."""
    g = np.zeros((3, 12, 12), dtype=np.uint8)
    g[0, 2:10, 2:10] = 255
    g[1, 1:11, 5:7] = 255
    yy, xx = np.mgrid[0:12, 0:12]
    g[2][np.abs(np.hypot(yy - 5.5, xx - 5.5) - 4) < 1.2] = 255
    return g, np.array([0, 1, 2])


def test_masks_boxes_and_labels_agree():
    scenes = compose_scenes(*glyphs(), n=20, size=40, seed=3)
    assert scenes.images.shape == (20, 3, 40, 40) and scenes.images.dtype == torch.uint8
    counts = [len(b) for b in scenes.boxes]
    assert min(counts) >= 1 and max(counts) <= 3
    for i in range(20):
        assert int(scenes.instances[i].max()) == len(scenes.labels[i])
        for k, (box, label) in enumerate(zip(scenes.boxes[i], scenes.labels[i]), start=1):
            ys, xs = torch.nonzero(scenes.instances[i] == k, as_tuple=True)
            assert box.tolist() == [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]
            assert (scenes.masks[i][scenes.instances[i] == k] == label + 1).all()
        assert ((scenes.masks[i] > 0) == (scenes.instances[i] > 0)).all()
    # Objects are brighter than the dark background on average.
    fg = scenes.masks > 0
    assert scenes.images.float().mean(1)[fg].mean() > scenes.images.float().mean(1)[~fg].mean() + 60


def test_scenes_are_deterministic_from_the_seed():
    a, b = compose_scenes(*glyphs(), n=4, size=40, seed=1), compose_scenes(*glyphs(), n=4, size=40, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    c = compose_scenes(*glyphs(), n=4, size=40, seed=2)
    assert not torch.equal(a.images, c.images)


def test_bad_glyphs():
    with pytest.raises(DataError, match="glyphs"):
        compose_scenes(np.zeros((2, 12, 12)), np.array([0, 1]), n=1)
    with pytest.raises(DataError, match="too small"):
        compose_scenes(*glyphs(), n=1, size=12)


def test_scene_images_for_training():
    pytest.importorskip("mnist")  # made of MNIST train digits
    from ganforge.data import load_scene_images
    from ganforge.data.scenes import load_scenes

    data = load_scene_images(6, image_size=32, seed=2)
    assert data.images.shape == (6, 3, 32, 32) and (data.labels == -1).all()
    full = load_scenes("train", 6, 64, seed=2).images
    assert torch.equal(load_scene_images(6, 64, seed=2).images, full)  # composed at 64 px, resized from there
    assert torch.equal(load_scene_images(4, 64, seed=2).images, full[:4])  # the first n of a longer set
    gray = load_scene_images(6, 64, channels=1, seed=2).images
    expected = (full.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert gray.shape == (6, 1, 64, 64) and (gray.float() - expected).abs().max() <= 0.5
