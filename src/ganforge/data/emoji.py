"""Emoji: 1,911 colour pictures of faces, people, animals, food, places, objects, symbols and flags,
Google's Noto Emoji (Apache-2.0) as the npm package `emoji-datasource-google` ships them: one
64x64 RGBA PNG per emoji in `img/google/64/`, indexed by `emoji.json` (name, category, skin-tone
variants). A real colour set small enough to train on a CPU (docs/training.md, "A real colour
set: emoji").

Read offline from that package installed globally (`npm install --global
emoji-datasource-google@16.0.0`; its name and version are checked), or from `--data DIR` holding
the same layout (`DIR/emoji.json`, `DIR/img/google/64/*.png`), taken as given. Nothing is
downloaded. Transparent pixels are composited over white before any resizing, so the colour a
transparent pixel happens to store never leaks into the picture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from PIL import Image

from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import open_image, pil_to_tensor
from ganforge.errors import DataError

PACKAGE = "emoji-datasource-google"
VERSION = "16.0.0"
STYLE = "google"  # emoji.json's has_img_<style> and the img/<style>/ folder
NATIVE_SIZE = 64  # the package's per-emoji PNGs are 64x64
INSTALL = f"npm install --global {PACKAGE}@{VERSION}"
BACKGROUND = (255, 255, 255)
SUBSET_SEED = 0  # `limit` draws its subset with this seed, whatever the run's seed: one fixed small set
# emoji.json's categories in Unicode's group order; the labels are indices into this list.
CATEGORIES = ["Smileys & Emotion", "People & Body", "Component", "Animals & Nature", "Food & Drink",
              "Travel & Places", "Activities", "Objects", "Symbols", "Flags"]


def npm_global_roots() -> list[Path]:
    """Where `npm install --global` puts packages: beside the node on PATH (<prefix>/lib/node_modules,
    as with nvm or Debian's /usr), then the usual prefixes."""
    roots = []
    node = shutil.which("node")
    if node:
        roots.append(Path(node).resolve().parent.parent / "lib" / "node_modules")
    roots += [Path("/usr/local/lib/node_modules"), Path("/usr/lib/node_modules")]
    return list(dict.fromkeys(roots))


def find_package() -> Path:
    """The installed package's folder, its name and version checked; DataError naming the install
    command when it is not installed."""
    candidates = [root / PACKAGE for root in npm_global_roots()]
    for folder in candidates:
        if (folder / "package.json").is_file():
            meta = json.loads((folder / "package.json").read_text(encoding="utf-8"))
            if (meta.get("name"), meta.get("version")) != (PACKAGE, VERSION):
                raise DataError(f"{folder}: {meta.get('name')} {meta.get('version')} is installed, ganforge's "
                                f"emoji set is {PACKAGE} {VERSION}: `{INSTALL}`, or pass --data DIR")
            return folder
    raise DataError(f"emoji images not found ({PACKAGE} is not in {', '.join(map(str, candidates))}): install "
                    f"them offline with `{INSTALL}`, or pass --data DIR (the package's folder)")


def read_index(root: Path, style: str, skin_tones: bool) -> list[tuple[str, str]]:
    """(image file name, category) of every emoji the package has a picture of, in emoji.json's
    sort order; with `skin_tones`, each emoji's skin-tone variants follow it."""
    index = root / "emoji.json"
    if not index.is_file():
        raise DataError(f"{root}: missing emoji.json (expected the folder of the npm package {PACKAGE}; "
                        f"install it with `{INSTALL}`)")
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{index}: not a JSON emoji index ({exc})") from None
    chosen = []
    for entry in sorted(entries, key=lambda e: e.get("sort_order", 0)):
        variants = [entry, *(entry.get("skin_variations") or {}).values()] if skin_tones else [entry]
        chosen += [(v["image"], entry["category"]) for v in variants if v.get(f"has_img_{style}")]
    unknown = sorted({category for _, category in chosen} - set(CATEGORIES))
    if unknown:
        raise DataError(f"{index}: unknown emoji categories {', '.join(unknown)}")
    return chosen


def read_emoji(path: Path, image_size: int, channels: int) -> torch.Tensor:
    """One emoji PNG over a white background, resized (box filter when shrinking, Lanczos when
    enlarging) -> (channels, image_size, image_size) uint8."""
    try:
        with open_image(path, "emoji") as picture:
            rgba = picture.convert("RGBA")
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read emoji picture ({exc.__class__.__name__}: {exc})") from None
    if rgba.width != rgba.height:
        raise DataError(f"{path}: emoji picture is {rgba.width}x{rgba.height}, expected a square")
    picture = Image.alpha_composite(Image.new("RGBA", rgba.size, (*BACKGROUND, 255)), rgba).convert("RGB")
    if picture.width != image_size:
        shrinking = image_size < picture.width
        picture = picture.resize((image_size, image_size),
                                 Image.Resampling.BOX if shrinking else Image.Resampling.LANCZOS)
    return pil_to_tensor(picture.convert("L") if channels == 1 else picture)


def load_emoji(path: str | Path | None = None, image_size: int = NATIVE_SIZE, channels: int = 3,
               limit: int | None = None, skin_tones: bool = False, style: str = STYLE) -> ImageTensorDataset:
    """The emoji set as (N, channels, image_size, image_size) with labels = category indices
    (CATEGORIES): 1,911 emoji in package 16.0.0, 3,786 with `skin_tones` (each person and hand
    also in its five skin tones: then three in five pictures are people). `limit` keeps a random N
    (drawn with SUBSET_SEED, so always the same N; kept in sort order): the first N would be
    smileys and people only, as emoji.json lists categories one after another."""
    root = find_package() if path is None else Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: emoji folder not found (expected the folder of the npm package {PACKAGE})")
    entries = read_index(root, style, skin_tones)
    if limit is not None and limit < len(entries):
        keep = torch.randperm(len(entries), generator=torch.Generator().manual_seed(SUBSET_SEED))[:limit]
        entries = [entries[i] for i in keep.sort().values.tolist()]
    if not entries:
        raise DataError(f"{root / 'emoji.json'}: lists no emoji with a {style} picture")
    folder = root / "img" / style / str(NATIVE_SIZE)
    missing = [name for name, _ in entries if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder}: {len(missing)} emoji pictures missing (first: {missing[0]}); "
                        f"reinstall with `{INSTALL}`")
    check_memory(f"emoji ({root})", len(entries), 2 * channels * image_size * image_size)
    images = torch.stack([read_emoji(folder / name, image_size, channels) for name, _ in entries])
    labels = torch.tensor([CATEGORIES.index(category) for _, category in entries], dtype=torch.int64)
    return ImageTensorDataset(images, labels, CATEGORIES)
