"""Putting a fill into a hole of known images: Poisson (gradient-domain) blending, feathering,
or a plain paste, looked up by name through BLENDS.

Each takes known (N, C, H, W), fill (N, C, H, W) and the hole (H, W) bool (True = missing) and
returns (N, C, H, W). None touches known pixels except, for feathering, within `border` pixels
of the hole.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from ganforge.registry import Registry


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


BLENDS: Registry[Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = Registry("blend")
BLENDS.register("poisson")(poisson_blend)
BLENDS.register("feather")(feather_blend)
BLENDS.register("none")(paste)
