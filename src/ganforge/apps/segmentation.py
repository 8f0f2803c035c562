"""Segmentation and detection with a pix2pix-style network (Isola et al. 2017) on scenes with
known ground truth (`ganforge.data.scenes`).

The U-Net maps an image to K label channels. With loss="l1" (pix2pix as published) they are in
[-1, 1] and the target is the one-hot label map scaled to {-1, +1}, so pix2pix's L1 +
conditional PatchGAN loss applies unchanged. With loss="cross_entropy" they are logits trained
by per-pixel cross-entropy, and the PatchGAN judges their softmax (scaled to [-1, 1]) against
the one-hot map. The predicted label of a pixel is its largest channel. Detection: each
connected component (8-connectivity) of a predicted class with at least `min_pixels` pixels
becomes a box, scored by the mean probability of its class over the component ((channel + 1) / 2
for the tanh net, the softmax for the logits net).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from ganforge.data.scenes import Scenes
from ganforge.data.transforms import to_signed
from ganforge.errors import InputError
from ganforge.metrics.detection import confusion_matrix, mean_average_precision, segmentation_scores
from ganforge.models.unet import unet_depth
from ganforge.training.image2image import RECONSTRUCTIONS, Image2ImageConfig, train_image_to_image


def one_hot_targets(masks: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, H, W) int labels -> (N, K, H, W) float in {-1, +1}."""
    return torch.nn.functional.one_hot(masks, num_classes).permute(0, 3, 1, 2).float() * 2 - 1


def train_segmenter(scenes: Scenes, num_classes: int, steps: int = 2000, batch_size: int = 32,
                    adversarial_weight: float = 1.0, l1_weight: float = 100.0, width: int = 32, seed: int = 0,
                    device: torch.device | str = "cpu", progress: bool = False, loss: str = "cross_entropy",
                    depth: int | None = None):
    """A U-Net image -> label map, trained by L1 on the {-1, +1} one-hot map (pix2pix) or by
    per-pixel cross-entropy (loss="cross_entropy"), either weighted by l1_weight (pix2pix's
    lambda), plus a conditional PatchGAN term unless adversarial_weight = 0. depth: U-Net halvings (default: the deepest, up to 5, that keeps >= 3 px).
    Returns (Image2ImageResult, Image2ImageConfig)."""
    if loss not in RECONSTRUCTIONS:
        raise InputError(f"--loss must be one of {', '.join(RECONSTRUCTIONS)}, got {loss!r}")
    images = to_signed(scenes.images)
    if int(scenes.masks.max()) >= num_classes:
        raise InputError(f"masks hold class {int(scenes.masks.max())}, more than num_classes={num_classes} allow")
    targets = one_hot_targets(scenes.masks, num_classes)
    n, c, h, _ = images.shape

    def batches(rng: torch.Generator):
        pick = torch.randint(n, (batch_size,), generator=rng)
        return images[pick], targets[pick]

    if depth is not None and (depth < 1 or h % 2 ** depth):
        raise InputError(f"--depth {depth}: the scene size {h} must be divisible by 2^depth")
    # Deep by default: the receptive field must cover a whole digit to name it (measured: depth
    # 2 / 3 / 4 at 48 px gave mIoU 0.19 / 0.38 / 0.52 after 1,500 steps; docs/recognition.md).
    config = Image2ImageConfig(c, num_classes, depth=depth or unet_depth(h, most=5, smallest=3), width=width, steps=steps, seed=seed,
                               adversarial_weight=adversarial_weight, l1_weight=l1_weight, reconstruction=loss)
    return train_image_to_image(config, batches, device, progress), config


@torch.no_grad()
def predict(net: torch.nn.Module, images: torch.Tensor, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(label maps (N, H, W) int64, channel values mapped to [0, 1] (N, K, H, W)) for uint8
    (N, 3, H, W) or float [-1, 1] images of the size the net was trained at."""
    expected = net.downs[0].net[0].in_channels
    if images.ndim != 4 or images.shape[1] != expected:
        raise InputError(f"images: the segmentation net takes (N, {expected}, H, W), got {tuple(images.shape)}")
    x = to_signed(images) if images.dtype == torch.uint8 else images
    device = next(net.parameters()).device
    outs = torch.cat([net(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])
    out = outs.softmax(1) if net.output == "logits" else (outs + 1) / 2
    return out.argmax(1), out


def detect(label_maps: torch.Tensor, scores: torch.Tensor, min_pixels: int = 8,
           background: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Boxes from predicted label maps: per image (boxes (M, 4) x0 y0 x1 y1, scores (M,), classes
    (M,)), classes being mask values minus 1 (mask value 1 + d is class d)."""
    results = []
    structure = np.ones((3, 3), dtype=bool)
    for label_map, score in zip(label_maps.numpy(), scores.numpy()):
        boxes, confidences, classes = [], [], []
        for value in np.unique(label_map):
            if value == background:
                continue
            components, count = ndimage.label(label_map == value, structure=structure)
            for k, region in enumerate(ndimage.find_objects(components), start=1):
                pixels = components[region] == k
                if pixels.sum() < min_pixels:
                    continue
                ys, xs = region
                boxes.append([xs.start, ys.start, xs.stop, ys.stop])
                confidences.append(float(score[value][region][pixels].mean()))
                classes.append(int(value) - 1)
        results.append((np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(confidences),
                        np.array(classes, dtype=np.int64)))
    return results


def evaluate_segmenter(net: torch.nn.Module, scenes: Scenes, num_classes: int, min_pixels: int = 8) -> dict:
    """Pixel accuracy and mIoU of the label maps, mAP@0.5 and mAP@0.5:0.95 of the boxes."""
    labels, scores = predict(net, scenes.images)
    seg = segmentation_scores(confusion_matrix(labels.numpy(), scenes.masks.numpy(), num_classes))
    truths = [(b.numpy(), lab.numpy()) for b, lab in zip(scenes.boxes, scenes.labels)]
    det = mean_average_precision(detect(labels, scores, min_pixels), truths)
    return {"pixel_accuracy": seg["pixel_accuracy"], "miou": seg["miou"], "map50": det["map50"],
            "map50_95": det["map50_95"]}


def colourise(label_maps: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, H, W) labels -> (N, 3, H, W) float in [-1, 1] with a fixed palette (background black)."""
    rng = np.random.default_rng(7)
    palette = torch.from_numpy(np.concatenate([[[0, 0, 0]], rng.uniform(60, 255, (num_classes - 1, 3))]))
    return (palette[label_maps].permute(0, 3, 1, 2).float() / 127.5 - 1)
