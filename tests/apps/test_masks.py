import pytest
import torch
from PIL import Image

from ganforge.apps.masks import center_box_mask, make_mask, random_boxes_mask, random_holes, scribble_mask, user_mask
from ganforge.errors import InputError


def test_standard_masks():
    hole = center_box_mask(16, 0.5)
    assert hole.sum() == 64 and hole[4:12, 4:12].all() and not hole[:4].any()
    for kind in ("boxes", "scribble"):
        a, b = make_mask(kind, 28, seed=1), make_mask(kind, 28, seed=1)
        assert torch.equal(a, b) and 0 < a.sum() < 28 * 28
        assert not torch.equal(a, make_mask(kind, 28, seed=2))
    assert random_boxes_mask(32, boxes=1, seed=0).any() and scribble_mask(32, seed=0).any()
    with pytest.raises(InputError, match="one of center"):
        make_mask("stars", 16)


def test_user_mask_takes_a_kind_a_file_or_a_picture(tmp_path):
    assert torch.equal(user_mask("boxes", 16, seed=3), make_mask("boxes", 16, seed=3))
    picture = Image.new("L", (16, 16))
    picture.paste(255, (4, 4, 10, 10))
    picture.save(tmp_path / "hole.png")
    expected = torch.zeros(16, 16, dtype=torch.bool)
    expected[4:10, 4:10] = True
    assert torch.equal(user_mask(tmp_path / "hole.png", 16), expected)
    assert torch.equal(user_mask(str(tmp_path / "hole.png"), 16), expected)
    assert torch.equal(user_mask(picture, 16), expected)
    with pytest.raises(InputError, match="mask: expected a mask picture file or one of center, boxes, scribble"):
        user_mask("stars", 16)
    # A server names no files: a path is refused as an unknown kind, even when the file exists.
    with pytest.raises(InputError, match="mask: expected one of center, boxes, scribble, got"):
        user_mask(str(tmp_path / "hole.png"), 16, files=False)
    with pytest.raises(InputError, match="expected 16x16, got 8x8"):
        user_mask(picture.resize((8, 8)), 16)
    with pytest.raises(InputError, match="mask is empty"):
        user_mask(Image.new("L", (16, 16)), 16)


def test_random_holes_are_reproducible_standard_kinds():
    holes = random_holes(6, 16, torch.Generator().manual_seed(0))
    assert holes.shape == (6, 16, 16) and holes.dtype == torch.bool
    assert torch.equal(holes, random_holes(6, 16, torch.Generator().manual_seed(0)))
    assert torch.equal(random_holes(1, 16, torch.Generator(), kinds=("center",))[0], center_box_mask(16))
