"""Inpainting and restoration of damaged images.

Masks are (H, W) bool, True where pixels are missing (the hole). Three ways to fill a hole:
- `inpaint_inversion`: semantic inpainting by masked GAN inversion (Yeh et al. 2017): find z
  whose image matches the known pixels (context loss) and looks real to D (prior loss), then
  blend G(z) into the hole, Poisson (gradient-domain, Perez et al. 2003) or feathered;
- `inpaint_net`: a trained image-to-image network (U-Net, context-encoder style), see
  `ganforge.apps.image2image`;
- baselines: `mean_fill` (the mean of the known pixels) and OpenCV's Telea inpainting.
Blending never touches known pixels except, for feathering, within `border` pixels of the hole.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.apps.inversion import Inversion, check_images, invert
from ganforge.errors import InputError
from ganforge.images import check_mask

# ------------------------------------------------------------------------------------ masks


def center_box_mask(size: int, fraction: float = 0.5) -> torch.Tensor:
    """A centred square hole covering `fraction` of the side: (size, size) bool."""
    if not 0 < fraction < 1:
        raise InputError(f"fraction must be in (0, 1), got {fraction}")
    side = max(1, round(size * fraction))
    start = (size - side) // 2
    hole = torch.zeros(size, size, dtype=torch.bool)
    hole[start:start + side, start:start + side] = True
    return hole


def random_boxes_mask(size: int, boxes: int = 3, max_fraction: float = 0.35, seed: int = 0) -> torch.Tensor:
    """`boxes` axis-aligned holes with sides up to max_fraction of the image: (size, size) bool."""
    rng = np.random.default_rng(seed)
    hole = torch.zeros(size, size, dtype=torch.bool)
    longest = max(2, int(size * max_fraction))
    for _ in range(boxes):
        h, w = rng.integers(2, longest + 1, size=2)
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        hole[top:top + h, left:left + w] = True
    return hole


def scribble_mask(size: int, strokes: int = 3, width: float | None = None, seed: int = 0) -> torch.Tensor:
    """Free-hand-like strokes (random walks with a brush) as the hole: (size, size) bool."""
    rng = np.random.default_rng(seed)
    radius = (width or max(1.0, size / 14)) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    hole = np.zeros((size, size), dtype=bool)
    for _ in range(strokes):
        y, x = rng.uniform(0, size, 2)
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(max(4, size // 3)):
            angle += rng.normal(0, 0.6)
            y = float(np.clip(y + math.sin(angle) * radius, 0, size - 1))
            x = float(np.clip(x + math.cos(angle) * radius, 0, size - 1))
            hole |= (yy - y) ** 2 + (xx - x) ** 2 <= radius**2
    return torch.from_numpy(hole)


MASKS = {"center": center_box_mask, "boxes": random_boxes_mask, "scribble": scribble_mask}


def make_mask(kind: str, size: int, seed: int = 0) -> torch.Tensor:
    """A standard hole by name: center, boxes or scribble."""
    if kind not in MASKS:
        raise InputError(f"mask must be a file or one of {', '.join(MASKS)}, got {kind!r}")
    return MASKS[kind](size) if kind == "center" else MASKS[kind](size, seed=seed)


def damage(images: torch.Tensor, hole: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """images (N, C, H, W) with the hole set to `fill` (what a damaged input looks like)."""
    return images.masked_fill(hole.to(images.device)[None, None], fill)


# --------------------------------------------------------------------------------- blending


def feather_blend(known: torch.Tensor, fill: torch.Tensor, hole: torch.Tensor, border: int = 2) -> torch.Tensor:
    """Alpha-blend `fill` into `known` (both (N, C, H, W)) with alpha 1 in the hole falling
    linearly to 0 over `border` pixels outside it (Chebyshev distance); pixels farther than
    `border` from the hole are exactly `known`."""
    alpha = hole.float()[None, None]
    grown = alpha
    for step in range(1, border + 1):  # ring `step` pixels away gets weight 1 - step / (border + 1)
        grown_next = F.max_pool2d(grown, 3, 1, 1)
        alpha = torch.maximum(alpha, (grown_next - grown) * (1 - step / (border + 1)))
        grown = grown_next
    alpha = alpha.to(known.device)
    return known * (1 - alpha) + fill * alpha


def poisson_blend(known: torch.Tensor, fill: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Seamless cloning (Perez et al. 2003): inside the hole solve laplace(f) = laplace(fill)
    with f = known on the hole's border, so the filled region keeps `fill`'s gradients but meets
    the known pixels without a seam; known pixels are unchanged. (N, C, H, W) each."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    h, w = hole.shape
    inside = hole.cpu().numpy()
    ys, xs = np.nonzero(inside)
    index = -np.ones((h, w), dtype=np.int64)
    index[ys, xs] = np.arange(len(ys))
    rows, cols, vals = [np.arange(len(ys))], [np.arange(len(ys))], [np.full(len(ys), 4.0)]
    neighbours = []  # per direction: (valid, neighbour index or -1, ny, nx)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        valid = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ny_c, nx_c = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
        nidx = np.where(valid, index[ny_c, nx_c], -1)
        rows.append(np.nonzero(nidx >= 0)[0])
        cols.append(nidx[nidx >= 0])
        vals.append(-np.ones(int((nidx >= 0).sum())))
        neighbours.append((valid, nidx, ny_c, nx_c))
    # Pixels at the image edge have fewer neighbours: the diagonal counts only those that exist.
    diagonal = sum(valid.astype(float) for valid, _, _, _ in neighbours)
    vals[0] = diagonal
    matrix = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(len(ys), len(ys))).tocsc()
    out = known.clone()
    g, k = fill.double().cpu().numpy(), known.double().cpu().numpy()
    result = out.double().cpu().numpy()
    for i in range(g.shape[0]):
        for c in range(g.shape[1]):
            rhs = np.zeros(len(ys))
            for valid, nidx, ny, nx in neighbours:
                # guidance: the fill's own gradient towards each neighbour
                rhs += np.where(valid, g[i, c, ys, xs] - g[i, c, ny, nx], 0.0)
                # a neighbour outside the hole is a fixed (Dirichlet) value
                rhs += np.where(valid & (nidx < 0), k[i, c, ny, nx], 0.0)
            result[i, c, ys, xs] = spsolve(matrix, rhs)
    return torch.from_numpy(result).to(known.dtype).clamp(-1, 1).to(known.device)


def paste(known: torch.Tensor, fill: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """`fill` inside the hole, `known` everywhere else: no blending."""
    return torch.where(hole.to(known.device)[None, None], fill, known)


BLENDS = {"poisson": poisson_blend, "feather": feather_blend, "none": paste}


# -------------------------------------------------------------------------------- inpainting


def inpaint_inversion(gan, images: torch.Tensor, hole: torch.Tensor, *, blend: str = "poisson", steps: int = 400,
                      restarts: int = 8, lr: float | None = None, prior_weight: float = 0.003, seed: int = 0,
                      **invert_options) -> tuple[torch.Tensor, Inversion]:
    """Fill `hole` ((H, W) bool, True = missing) in `images` ((N, C, H, W) in [-1, 1]) by masked
    inversion (Yeh et al. 2017; prior weight 0.003 as in the paper) and blending. Returns
    (restored images (N, C, H, W) on the CPU, the inversion)."""
    images = check_images(gan, images, "images")
    hole = check_mask(hole, tuple(images.shape[2:]))
    if blend not in BLENDS:
        raise InputError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")
    discriminator = gan.load_discriminator() if prior_weight > 0 else None
    result = invert(gan, images, known=~hole, steps=steps, restarts=restarts, lr=lr, prior_weight=prior_weight,
                    discriminator=discriminator, seed=seed, **invert_options)
    return BLENDS[blend](images, result.images, hole), result


def mean_fill(images: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The baseline of doing nothing clever: each image's hole set to the mean of its known pixels."""
    hole = check_mask(hole, tuple(images.shape[2:]))
    known = (~hole).to(images.dtype)[None, None]
    means = (images * known).sum((2, 3), keepdim=True) / known.sum()
    return torch.where(hole[None, None], means.expand_as(images), images)


def telea_inpaint(images: torch.Tensor, hole: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """OpenCV's fast-marching inpainting (Telea 2004), the classic non-learned baseline."""
    try:
        import cv2
    except ImportError:
        raise ImportError("the Telea baseline needs OpenCV: pip install 'ganforge[restoration]'") from None
    hole = check_mask(hole, tuple(images.shape[2:]))
    mask = hole.numpy().astype(np.uint8) * 255
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = []
    for picture in pixels:
        filled = cv2.inpaint(np.ascontiguousarray(picture), mask, radius, cv2.INPAINT_TELEA)
        out.append(filled.reshape(picture.shape))
    result = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return torch.where(hole[None, None], result, images)  # OpenCV keeps known pixels; make it exact


# ------------------------------------------------------------------------- inpainting network

INPAINTER_FILE = "inpainter.safetensors"


def unet_depth(size: int, most: int = 4, smallest: int = 4) -> int:
    """The deepest U-Net (at most `most` halvings) whose innermost maps are whole and >= `smallest` px."""
    depth = 1
    while depth < most and size % 2 ** (depth + 1) == 0 and size // 2 ** (depth + 1) >= smallest:
        depth += 1
    return depth


def random_holes(n: int, size: int, rng: torch.Generator, kinds: tuple[str, ...] = tuple(MASKS)) -> torch.Tensor:
    """(n, size, size) bool holes, each of a random kind with a random seed."""
    picks = torch.randint(len(kinds), (n,), generator=rng).tolist()
    seeds = torch.randint(2**31 - 1, (n,), generator=rng).tolist()
    return torch.stack([make_mask(kinds[k], size, seed=s) for k, s in zip(picks, seeds)])


def net_inputs(images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """What the inpainting net sees: the image with holes zeroed, plus the hole as a channel
    (+1 missing, -1 known): (N, C + 1, H, W)."""
    hole = holes.to(images.dtype).unsqueeze(1)
    return torch.cat([images * (1 - hole), hole * 2 - 1], dim=1)


def train_inpainter(images: torch.Tensor, steps: int = 2000, batch_size: int = 64, adversarial_weight: float = 1.0,
                    l1_weight: float = 100.0, width: int = 32, seed: int = 0, device: torch.device | str = "cpu",
                    progress: bool = False, log_every: int = 100):
    """A context-encoder-style inpainting U-Net (Pathak et al. 2016) trained on `images`
    ((N, C, H, W) in [-1, 1]) with random center / box / scribble holes, L1 + conditional
    PatchGAN loss (pix2pix's weights). Returns the Image2ImageResult."""
    from ganforge.training.image2image import Image2ImageConfig, train_image_to_image

    n, c, h, w = images.shape
    if h != w:
        raise InputError(f"images must be square, got {h}x{w}")

    def batches(rng: torch.Generator):
        pick = torch.randint(n, (batch_size,), generator=rng)
        real = images[pick]
        return net_inputs(real, random_holes(batch_size, h, rng)), real

    config = Image2ImageConfig(c + 1, c, depth=unet_depth(h), width=width, steps=steps, seed=seed,
                               adversarial_weight=adversarial_weight, l1_weight=l1_weight, log_every=log_every)
    return train_image_to_image(config, batches, device, progress), config


@torch.no_grad()
def inpaint_net(net: torch.nn.Module, images: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Fill `hole` in `images` ((N, C, H, W) in [-1, 1]) with the trained net; known pixels kept."""
    hole = check_mask(hole, tuple(images.shape[2:]))
    expected = net.downs[0].net[0].in_channels - 1
    if images.ndim != 4 or images.shape[1] != expected:
        raise InputError(f"images: the inpainting net takes (N, {expected}, H, W), got {tuple(images.shape)}")
    device = next(net.parameters()).device
    holes = hole.expand(len(images), *hole.shape)
    out = net(net_inputs(images.to(device), holes.to(device))).float().cpu()
    return paste(images, out, hole)


# -------------------------------------------------------------------- denoising, deblurring


def gaussian_blur(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Separable Gaussian blur (radius 3 sigma, reflect padding), differentiable: (N, C, H, W)."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def add_noise(images: torch.Tensor, sigma: float = 0.3, seed: int = 0) -> torch.Tensor:
    """images + N(0, sigma^2) noise (in the [-1, 1] scale), clamped to [-1, 1]."""
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return (images + sigma * noise.to(images.device)).clamp(-1, 1)


CORRUPTIONS = {"noise": lambda images, strength, seed: add_noise(images, strength, seed),
               "blur": lambda images, strength, seed: gaussian_blur(images, strength)}


def restore_inversion(gan, images: torch.Tensor, corruption: str, strength: float, *, steps: int = 400,
                      restarts: int = 8, prior_weight: float = 0.003, seed: int = 0, **invert_options) -> torch.Tensor:
    """Denoise or deblur by inversion: the z whose image, corrupted the same way (blurred with
    the known sigma; for noise, as is), matches the input; returns G(z) (N, C, H, W) on the CPU.
    The generator's range is the prior: noise it cannot produce is left out."""
    if corruption not in CORRUPTIONS:
        raise InputError(f"corruption must be one of {', '.join(CORRUPTIONS)}, got {corruption!r}")
    degrade = (lambda x: gaussian_blur(x, strength)) if corruption == "blur" else None
    discriminator = gan.load_discriminator() if prior_weight > 0 else None
    return invert(gan, images, steps=steps, restarts=restarts, prior_weight=prior_weight, discriminator=discriminator,
                  degrade=degrade, seed=seed, **invert_options).images


def save_inpainter(net: torch.nn.Module, config, run: str | Path) -> Path:
    """RUN/inpainter.safetensors (atomic), with the U-Net's shape."""
    from ganforge.checkpoint import run_folder, save_network

    return save_network(run_folder(run) / INPAINTER_FILE, net, config.network_config())


def load_inpainter(run: str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The inpainting net trained for a run (ganforge train-inpainter)."""
    from ganforge.checkpoint import load_network, run_folder
    from ganforge.models.unet import UNetGenerator

    path = run_folder(run) / INPAINTER_FILE
    if not path.is_file():
        raise InputError(f"{run_folder(run)}: no {INPAINTER_FILE}; train one with: ganforge train-inpainter "
                         f"{run_folder(run)}")
    net, _ = load_network(path, UNetGenerator)
    return net.to(device).eval()


# ------------------------------------------------------------------------------ comparison

def compare_inpainting(images: torch.Tensor, holes: dict[str, torch.Tensor], methods: dict,
                       classify=None, labels: torch.Tensor | None = None, examples: int = 0) -> list[dict]:
    """Score each method on each hole: one row {"mask", "method", "psnr", "ssim", "hole_psnr",
    "psnr_per_image_median", ["accuracy"]} per pair: PSNR of the mean squared error over all
    whole images, mean SSIM, PSNR inside the hole only, and, given `classify` (images -> class logits) and `labels`, the classifier's
    accuracy on the restored images (does the repair keep the identity?). `methods` maps a name
    to f(images, hole) -> restored; the row "damaged" scores the input with the hole zeroed.
    `examples` > 0 keeps that many restored images per row under "examples"."""
    from ganforge.metrics import psnr, ssim

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
