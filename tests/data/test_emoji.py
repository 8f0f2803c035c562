import hashlib
import json

import pytest
import torch
from PIL import Image

from ganforge.data import emoji
from ganforge.data.emoji import CATEGORIES, INSTALL, PACKAGE, VERSION, load_emoji
from ganforge.errors import DataError
from ganforge.training import train
from tests.conftest import tiny_config

# SHA-256 over the names and bytes of the 1,911 pictures (emoji.json's sort order) of
# emoji-datasource-google 16.0.0, recorded from that package.
PACKAGE_PICTURES_SHA256 = "e014f3b1522440f5435590dc769e4d352855e388d92b31e1cbae7a14816fc68d"


def write_package(root, pictures, version=VERSION):
    """A folder laid out like the npm package: package.json, emoji.json and img/google/64/*.png.
    `pictures`: (name, category, RGBA Pillow image, {skin-tone key: (name, image)})."""
    folder = root / "img" / "google" / "64"
    folder.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": PACKAGE, "version": version}))
    entries = []
    # emoji.json lists entries out of order; the loader sorts them by sort_order
    for order, (name, category, image, variants) in reversed(list(enumerate(pictures))):
        image.save(folder / name)
        skins = {}
        for key, (variant_name, variant_image) in variants.items():
            variant_image.save(folder / variant_name)
            skins[key] = {"image": variant_name, "has_img_google": True}
        entries.append({"image": name, "category": category, "sort_order": order, "has_img_google": True,
                        "skin_variations": skins or None})
    # an emoji the google set has no picture of is left out
    entries.append({"image": "absent.png", "category": "Objects", "sort_order": 99, "has_img_google": False})
    (root / "emoji.json").write_text(json.dumps(entries))
    return root


def solid(colour, size=64):
    return Image.new("RGBA", (size, size), colour)


def small_package(root, n=3):
    categories = ["Smileys & Emotion", "People & Body", "Flags"]
    pictures = [(f"e{i}.png", categories[i % 3], solid((10 * i, 20, 30, 255)), {}) for i in range(n)]
    hand = ("hand.png", "People & Body", solid((200, 150, 100, 255)),
            {"1F3FB": ("hand-light.png", solid((250, 220, 200, 255))),
             "1F3FF": ("hand-dark.png", solid((90, 60, 40, 255)))})
    return write_package(root, pictures[:1] + [hand] + pictures[1:])


def test_shapes_range_labels_and_order(tmp_path):
    data = load_emoji(small_package(tmp_path / "pkg"))
    assert data.images.shape == (4, 3, 64, 64) and data.images.dtype == torch.uint8
    assert data.classes == CATEGORIES
    assert [CATEGORIES[i] for i in data.labels] == ["Smileys & Emotion", "People & Body", "People & Body", "Flags"]
    assert data.images[:, :, 0, 0].tolist() == [[0, 20, 30], [200, 150, 100], [10, 20, 30], [20, 20, 30]]
    image, label = data[2]
    assert image.dtype == torch.float32 and image.min() >= -1 and image.max() <= 1
    assert image[0, 0, 0].item() == pytest.approx(10 / 127.5 - 1) and label == CATEGORIES.index("People & Body")
    assert len(load_emoji(tmp_path / "pkg", limit=2)) == 2


def test_limit_keeps_a_fixed_random_subset_in_sort_order(tmp_path):
    # 30 emoji, category after category as in emoji.json: the first 6 would all be smileys
    pictures = [(f"e{i}.png", CATEGORIES[i // 3], solid((i, 0, 0, 255)), {}) for i in range(30)]
    root = write_package(tmp_path / "pkg", pictures)
    subset = load_emoji(root, limit=6)
    picked = subset.images[:, 0, 0, 0].tolist()
    assert len(picked) == len(set(picked)) == 6 and picked == sorted(picked)  # distinct, in sort order
    assert picked != list(range(6)) and len(set(subset.labels.tolist())) > 1  # not just the first category
    assert subset.labels.tolist() == [i // 3 for i in picked]  # each picture keeps its own label
    assert load_emoji(root, limit=6).images.equal(subset.images)  # the same subset every time
    assert set(picked) < set(load_emoji(root, limit=12).images[:, 0, 0, 0].tolist())  # a larger N adds to it
    assert load_emoji(root, limit=30).images[:, 0, 0, 0].tolist() == list(range(30))  # N >= all: all, in order
    assert len(load_emoji(root, limit=100)) == 30


def test_skin_tones_follow_their_emoji(tmp_path):
    data = load_emoji(small_package(tmp_path / "pkg"), skin_tones=True)
    assert data.images[:, 0, 0, 0].tolist() == [0, 200, 250, 90, 10, 20]
    assert data.labels.tolist()[1:4] == [CATEGORIES.index("People & Body")] * 3


def test_transparent_pixels_are_white_whatever_colour_they_store(tmp_path):
    picture = solid((255, 0, 0, 0))  # fully transparent, but red underneath
    picture.putpixel((3, 4), (10, 20, 30, 255))
    picture.putpixel((5, 5), (0, 0, 0, 128))  # half-transparent black over white
    data = load_emoji(write_package(tmp_path / "pkg", [("a.png", "Objects", picture, {})]))
    image, _ = data[0]
    assert image[:, 0, 0].tolist() == [1.0, 1.0, 1.0]  # white: 255 -> exactly 1.0
    assert data.images[0, :, 4, 3].tolist() == [10, 20, 30]  # opaque: unchanged
    assert data.images[0, :, 5, 5].tolist() == [127, 127, 127]  # 255 * (1 - 128/255)
    gray = load_emoji(tmp_path / "pkg", channels=1)
    assert gray.images.shape == (1, 1, 64, 64) and gray.images[0, 0, 0, 0] == 255


def test_palette_and_gray_alpha_pictures_are_composited_too(tmp_path):
    gray_alpha = Image.new("LA", (64, 64), (0, 0))
    gray_alpha.putpixel((1, 1), (40, 255))
    palette = solid((255, 0, 0, 0)).convert("P")  # transparency kept through the palette (tRNS)
    palette.info["transparency"] = 0
    root = write_package(tmp_path / "pkg", [("la.png", "Symbols", gray_alpha, {}), ("p.png", "Symbols", palette, {})])
    data = load_emoji(root)
    assert data.images[0, :, 0, 0].tolist() == [255] * 3 and data.images[0, :, 1, 1].tolist() == [40] * 3
    assert data.images[1, :, 0, 0].tolist() == [255] * 3


def test_resizing_composites_first_then_averages(tmp_path):
    picture = solid((255, 0, 0, 0))
    picture.putpixel((0, 0), (0, 0, 0, 255))
    picture.putpixel((1, 1), (0, 0, 0, 255))
    for x in range(32, 64):  # right half opaque blue
        for y in range(64):
            picture.putpixel((x, y), (0, 0, 255, 255))
    root = write_package(tmp_path / "pkg", [("a.png", "Objects", picture, {})])
    small = load_emoji(root, image_size=32).images[0]
    assert small.shape == (3, 32, 32)
    assert small[:, 0, 0].tolist() == [128] * 3  # box average of black, white, white, black: 127.5
    assert small[:, 5, 5].tolist() == [255] * 3  # transparent red stays white after the average
    assert small[:, 7, 20].tolist() == [0, 0, 255]
    large = load_emoji(root, image_size=128).images[0]
    assert large.shape == (3, 128, 128)
    assert large[:, 60, 40].tolist() == [255] * 3 and large[:, 60, 100].tolist() == [0, 0, 255]


def test_missing_files_are_one_line_errors_naming_the_install(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="missing emoji.json .*npm install --global emoji-datasource-google@16.0.0"):
        load_emoji(tmp_path)
    with pytest.raises(DataError, match="emoji folder not found"):
        load_emoji(tmp_path / "absent")
    root = small_package(tmp_path / "pkg")
    (root / "img" / "google" / "64" / "hand.png").unlink()
    with pytest.raises(DataError, match=r"1 emoji pictures missing \(first: hand.png\)"):
        load_emoji(root)
    monkeypatch.setattr(emoji, "npm_global_roots", lambda: [tmp_path / "node_modules"])
    with pytest.raises(DataError, match=f"not in .*node_modules/{PACKAGE}.*`{INSTALL}`, or pass --data DIR"):
        load_emoji()


def test_the_installed_package_is_found_and_its_version_checked(tmp_path, monkeypatch):
    roots = [tmp_path / "lib" / "node_modules", tmp_path / "other"]
    small_package(roots[1] / PACKAGE)
    monkeypatch.setattr(emoji, "npm_global_roots", lambda: roots)
    assert len(load_emoji()) == 4
    write_package(roots[0] / PACKAGE, [("a.png", "Objects", solid((1, 2, 3, 255)), {})], version="15.1.2")
    with pytest.raises(DataError, match=f"{PACKAGE} 15.1.2 is installed, ganforge's emoji set is {PACKAGE} 16.0.0"):
        load_emoji()


def test_an_unknown_category_is_refused(tmp_path):
    root = write_package(tmp_path / "pkg", [("a.png", "Weather", solid((1, 2, 3, 255)), {})])
    with pytest.raises(DataError, match="unknown emoji categories Weather"):
        load_emoji(root)


def installed_package():
    try:
        return emoji.find_package()
    except DataError:
        return None


@pytest.mark.skipif(installed_package() is None, reason=f"needs the npm package: {INSTALL}")
def test_the_npm_package():
    root = installed_package()
    data = load_emoji()
    assert data.images.shape == (1911, 3, 64, 64)
    assert torch.bincount(data.labels).tolist() == [169, 386, 5, 159, 131, 218, 85, 264, 224, 270]
    digest = hashlib.sha256()
    for name, _ in emoji.read_index(root, "google", skin_tones=False):
        digest.update(name.encode() + (root / "img" / "google" / "64" / name).read_bytes())
    assert digest.hexdigest() == PACKAGE_PICTURES_SHA256
    assert len(emoji.read_index(root, "google", skin_tones=True)) == 3786


def test_trains_from_the_cli_dataset_name(tmp_path):
    pictures = [(f"e{i}.png", CATEGORIES[i % 10], solid((25 * i, 255 - 25 * i, 128, 255)), {}) for i in range(10)]
    root = write_package(tmp_path / "pkg", pictures)
    config = tiny_config(tmp_path, steps=2)
    config.data.dataset, config.data.path, config.data.image_size, config.data.channels = "emoji", str(root), 16, 3
    run = train(config.validate(), progress=False)
    assert (run / "checkpoints" / "step_00000002").is_dir()
