"""Inpainting on held-out images: masked GAN inversion and the U-Net inpainting net against
OpenCV's Telea inpainting and mean filling, by PSNR, SSIM and (MNIST) the project classifier's
accuracy on the repaired digits.

    python benchmarks/restoration.py --mnist-run RUN [--shapes-run RUN] [--n 200]

Each run needs an inpainting net first (`ganforge train-inpainter RUN`). MNIST: the first n test
digits (never seen in training); shapes: n scenes from seed 1000 (training used seed 0).
Masks: centre box (40% of the side), three random boxes, scribbles. Writes one picture grid per
dataset and mask (rows: examples; columns: damaged, each method, original) to --figures and
prints Markdown tables. `compare_inpainting` is the scoring (tests/benchmarks checks it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ganforge.api import load
from ganforge.apps.inpainting import inpaint_inversion, inpaint_net, load_inpainter, mean_fill, telea_inpaint
from ganforge.apps.inversion import invert
from ganforge.apps.masks import center_box_mask, damage, random_boxes_mask, scribble_mask
from ganforge.data import load_mnist, load_shapes
from ganforge.data.transforms import to_signed
from ganforge.io.pictures import check_mask, save_grid
from ganforge.metrics import psnr, ssim
from ganforge.models.classifier import load_classifier

EXAMPLES = 8


def compare_inpainting(images: torch.Tensor, holes: dict[str, torch.Tensor], methods: dict,
                       classify=None, labels: torch.Tensor | None = None, examples: int = 0) -> list[dict]:
    """Score each method on each hole: one row {"mask", "method", "psnr", "ssim", "hole_psnr",
    "psnr_per_image_median", ["accuracy"]} per pair: PSNR of the mean squared error over all
    whole images, mean SSIM, PSNR inside the hole only, and, given `classify` (images -> class logits) and `labels`, the classifier's
    accuracy on the restored images (does the repair keep the identity?). `methods` maps a name
    to f(images, hole) -> restored; the row "damaged" scores the input with the hole zeroed.
    `examples` > 0 keeps that many restored images per row under "examples"."""
    rows = []
    for mask_name, hole in holes.items():
        hole = check_mask(hole, tuple(images.shape[2:]))
        candidates = {"damaged": lambda x, h: damage(x, h), **methods}
        for name, method in candidates.items():
            restored = method(images, hole).cpu()
            inside = hole[None, None].expand_as(images)
            # PSNR of the mean squared error over all the images (a per-image mean would be
            # infinite as soon as one repair is exact, e.g. a box over plain background).
            mse = ((restored - images) ** 2).double().mean()
            hole_mse = ((restored - images)[inside] ** 2).double().mean()
            row = {"mask": mask_name, "method": name, "psnr": float(10 * torch.log10(4.0 / mse)),
                   "ssim": float(ssim(restored, images).mean()), "hole_psnr": float(10 * torch.log10(4.0 / hole_mse)),
                   "psnr_per_image_median": float(psnr(restored, images).median())}
            if classify is not None and labels is not None:
                with torch.no_grad():
                    row["accuracy"] = float((classify(restored).argmax(1).cpu() == labels).float().mean())
            if examples:
                row["examples"] = restored[:examples]
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-run", required=True)
    parser.add_argument("--shapes-run")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--steps", type=int, default=300, help="inversion steps")
    parser.add_argument("--restarts", type=int, default=4, help="inversion restarts")
    parser.add_argument("--figures", default="docs/figures/restoration")
    args = parser.parse_args()
    sets = [("mnist", args.mnist_run)] + ([("shapes", args.shapes_run)] if args.shapes_run else [])
    for dataset, run in sets:
        gan = load(run)
        channels, size, _ = gan.image_shape
        if dataset == "mnist":
            test = load_mnist("test", limit=args.n)
            images, labels = to_signed(test.images), test.labels
            classifier = load_classifier().eval()
        else:
            images, labels, classifier = to_signed(load_shapes(args.n, size, channels, seed=1000).images), None, None
        holes = {"centre box": center_box_mask(size, 0.4), "3 boxes": random_boxes_mask(size, 3, seed=1),
                 "scribble": scribble_mask(size, seed=2)}
        net = load_inpainter(run)
        timings: dict[str, float] = {}

        def timed(name, method):
            def run_method(x, hole):
                started = time.perf_counter()
                out = method(x, hole)
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
                return out
            return run_method

        methods = {
            "mean fill": timed("mean fill", mean_fill),
            "Telea (OpenCV)": timed("Telea (OpenCV)", telea_inpaint),
            "GAN inversion + Poisson": timed("GAN inversion + Poisson", lambda x, h: inpaint_inversion(
                gan, x, h, steps=args.steps, restarts=args.restarts)[0]),
            "U-Net net (L1 + adv.)": timed("U-Net net (L1 + adv.)", lambda x, h: inpaint_net(net, x, h)),
        }
        rows = compare_inpainting(images, holes, methods, classifier, labels, examples=EXAMPLES)
        accuracy = "accuracy" in rows[0]
        print(f"\n{dataset}: {len(images)} held-out images, run {run}\n")
        print("| mask | method | PSNR (dB) | hole PSNR (dB) | SSIM |" + (" classifier accuracy |" if accuracy else ""))
        print("|---|---|---:|---:|---:|" + ("---:|" if accuracy else ""))
        for row in rows:
            print(f"| {row['mask']} | {row['method']} | {row['psnr']:.2f} | {row['hole_psnr']:.2f} | "
                  f"{row['ssim']:.3f} |" + (f" {row['accuracy']:.1%} |" if accuracy else ""))
        if classifier is not None:
            with torch.no_grad():
                print(f"| (none) | original images | | | 1.000 | "
                      f"{float((classifier(images).argmax(1) == labels).float().mean()):.1%} |")
        print("\nseconds per method over all masks: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        # Plain inversion of the held-out images (no hole): how close can the generator get?
        started = time.perf_counter()
        inverted = invert(gan, images, steps=args.steps, restarts=args.restarts).images
        values = psnr(inverted, images)
        print(f"inversion of the {len(images)} held-out images ({args.steps} steps, {args.restarts} restarts, "
              f"{time.perf_counter() - started:.0f} s): PSNR mean {float(values.mean()):.2f} dB, median "
              f"{float(values.median()):.2f} dB; SSIM {float(ssim(inverted, images).mean()):.3f}")
        save_grid(torch.stack([images[:EXAMPLES], inverted[:EXAMPLES]], 1).reshape(-1, channels, size, size),
                  Path(args.figures) / f"{dataset}_inversion.png", nrow=2, upscale=max(1, 64 // size))
        for mask_name in holes:
            mask_rows = [r for r in rows if r["mask"] == mask_name]
            columns = [r["examples"] for r in mask_rows] + [images[:EXAMPLES]]
            grid = torch.stack(columns, 1).reshape(-1, channels, size, size)  # row = one example
            path = Path(args.figures) / f"{dataset}_{mask_name.replace(' ', '_')}.png"
            save_grid(grid, path, nrow=len(columns), upscale=max(1, 64 // size))
            print(f"picture: {path} (columns: {', '.join(r['method'] for r in mask_rows)}, original)")


if __name__ == "__main__":
    main()
