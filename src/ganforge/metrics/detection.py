"""Segmentation and detection scores against ground truth.

Segmentation: the confusion matrix of per-pixel classes, pixel accuracy and mean IoU (over the
classes present in the prediction or the ground truth). Detection: box IoU and COCO-style mean
average precision (Lin et al. 2014): per class, detections sorted by score are matched greedily
to the unmatched ground-truth box of highest IoU >= t; AP is the area under the precision
envelope sampled at 101 recall points; mAP@0.5 uses t = 0.5, mAP@0.5:0.95 averages t = 0.50,
0.55, ..., 0.95. Classes without ground truth are left out of the mean.
"""

from __future__ import annotations

import numpy as np

Boxes = np.ndarray  # (M, 4) float x0, y0, x1, y1 with x1 > x0, y1 > y0 (pixel edges)


def confusion_matrix(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts, rows = true class, columns = predicted class."""
    predicted, target = np.asarray(predicted).ravel(), np.asarray(target).ravel()
    if predicted.shape != target.shape:
        raise ValueError(f"prediction and target differ in size: {predicted.shape} vs {target.shape}")
    if len(target) and (target.min() < 0 or max(target.max(), predicted.max()) >= num_classes or predicted.min() < 0):
        raise ValueError(f"classes must lie in 0..{num_classes - 1}")
    return np.bincount(target * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def segmentation_scores(confusion: np.ndarray) -> dict[str, float]:
    """Pixel accuracy, mean IoU over classes that occur (in truth or prediction), per-class IoU."""
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positive = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    present = union > 0
    iou = np.where(present, true_positive / np.maximum(union, 1), np.nan)
    return {"pixel_accuracy": float(true_positive.sum() / max(confusion.sum(), 1)),
            "miou": float(np.nanmean(iou)) if present.any() else float("nan"),
            "iou": iou.tolist()}


def box_iou(a: Boxes, b: Boxes) -> np.ndarray:
    """(len(a), len(b)) intersection over union of two sets of boxes."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1, y1 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda box: (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def average_precision(scores: np.ndarray, matched: np.ndarray, num_truth: int) -> float:
    """101-point interpolated AP from detections' scores, whether each matched a true box, and
    the number of true boxes."""
    if num_truth == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(matched, dtype=np.float64)[order]
    true_pos, false_pos = np.cumsum(hits), np.cumsum(1 - hits)
    recall = true_pos / num_truth
    precision = true_pos / np.maximum(true_pos + false_pos, 1e-12)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    index = np.searchsorted(recall, points, side="left")
    sampled = np.where(index < len(envelope), envelope[np.minimum(index, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


def _match(pred_boxes: Boxes, pred_scores: np.ndarray, true_boxes: Boxes, threshold: float) -> np.ndarray:
    """Whether each prediction (in score order of the caller) matches a still-free true box."""
    matched = np.zeros(len(pred_boxes), dtype=bool)
    if len(pred_boxes) == 0 or len(true_boxes) == 0:
        return matched
    iou = box_iou(pred_boxes, true_boxes)
    taken = np.zeros(len(true_boxes), dtype=bool)
    for i in np.argsort(-pred_scores, kind="stable"):
        candidates = np.where(taken, -1.0, iou[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= threshold:
            taken[j], matched[i] = True, True
    return matched


def mean_average_precision(predictions: list[tuple[Boxes, np.ndarray, np.ndarray]],
                           truths: list[tuple[Boxes, np.ndarray]],
                           thresholds: tuple[float, ...] = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2))
                           ) -> dict[str, float]:
    """predictions[i] = (boxes (M, 4), scores (M,), labels (M,)) and truths[i] = (boxes, labels)
    for image i -> {"map50": ..., "map50_95": ..., "per_threshold": {t: mAP}}."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predicted images but {len(truths)} true ones")
    classes = sorted({int(c) for _, labels in truths for c in np.asarray(labels)})
    per_threshold = {}
    for t in thresholds:
        aps = []
        for c in classes:
            scores, hits, count = [], [], 0
            for (p_boxes, p_scores, p_labels), (t_boxes, t_labels) in zip(predictions, truths):
                p_sel, t_sel = np.asarray(p_labels) == c, np.asarray(t_labels) == c
                p_b, p_s = np.asarray(p_boxes).reshape(-1, 4)[p_sel], np.asarray(p_scores)[p_sel]
                t_b = np.asarray(t_boxes).reshape(-1, 4)[t_sel]
                hits.append(_match(p_b, p_s, t_b, t))
                scores.append(p_s)
                count += len(t_b)
            aps.append(average_precision(np.concatenate(scores) if scores else np.zeros(0),
                                         np.concatenate(hits) if hits else np.zeros(0, bool), count))
        per_threshold[float(t)] = float(np.mean(aps)) if aps else float("nan")
    return {"map50": per_threshold.get(0.5, float("nan")),
            "map50_95": float(np.mean(list(per_threshold.values()))), "per_threshold": per_threshold}
