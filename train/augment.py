"""Batched augmentation for digits drawn in a browser.

Applied to a whole batch at once with ``affine_grid``/``grid_sample`` and pooling, which on
2 CPU cores is ~100x faster than torchvision's per-image transforms in a DataLoader.
What varies in a browser drawing: position, size, slant, rotation and stroke width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def thin(ink: torch.Tensor, max_iterations: int = 30) -> torch.Tensor:
    """Zhang-Suen thinning of a (B, 1, H, W) boolean batch to one-pixel centre lines."""
    img = F.pad(ink.to(torch.uint8), (1, 1, 1, 1))
    for _ in range(max_iterations):
        changed = False
        for first_pass in (True, False):
            p = img[:, 0]
            n = [p[:, :-2, 1:-1], p[:, :-2, 2:], p[:, 1:-1, 2:], p[:, 2:, 2:],
                 p[:, 2:, 1:-1], p[:, 2:, :-2], p[:, 1:-1, :-2], p[:, :-2, :-2]]  # P2..P9 clockwise
            neighbours = sum(n)
            ring = n + [n[0]]
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).to(torch.uint8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if first_pass:
                cond = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                cond = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (p[:, 1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if delete.any():
                img = img.clone()
                img[:, 0, 1:-1, 1:-1][delete] = 0
                changed = True
        if not changed:
            break
    return img[:, :, 1:-1, 1:-1].bool()


_SOFTEN = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]).div(16).view(1, 1, 3, 3)


def restroke(images: torch.Tensor) -> torch.Tensor:
    """Redraw each digit along its centre line with a uniform pen of random width (1-3 px + soft edge).

    A browser pen draws strokes of one width; MNIST's scanned pen strokes vary. Training on
    both is what makes drawings, after preprocessing, read as well as MNIST itself.
    """
    lines = thin(images > 0.4).float()
    width = torch.randint(0, 3, (images.shape[0], 1, 1, 1))  # pen of 1, 2 or 3 px (before the soft edge)
    two = F.max_pool2d(F.pad(lines, (1, 0, 1, 0)), 2, stride=1)  # (B, 1, 28, 28)
    three = F.max_pool2d(lines, 3, stride=1, padding=1)
    pen = torch.where(width == 0, lines, torch.where(width == 1, two, three))
    soft = F.conv2d(pen, _SOFTEN, padding=1)
    return (soft / soft.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)).clamp_(0, 1)


def sketch_augment(images: torch.Tensor, restroke_fraction: float = 0.0) -> torch.Tensor:
    """Random affine (+-15 deg, 0.8-1.15x scale, +-3 px shift, slight shear) and stroke width.

    images: (B, 1, 28, 28) in [0, 1]. Uses the global torch RNG, which the loop seeds per step.
    """
    b = images.shape[0]
    if restroke_fraction > 0:
        pick = torch.rand(b) < restroke_fraction
        images = images.clone()
        images[pick] = restroke(images[pick])  # thinning is the costly part: only for the picked
    angle = (torch.rand(b) * 2 - 1) * math.radians(15)
    scale = 0.8 + torch.rand(b) * 0.35
    shear = (torch.rand(b) * 2 - 1) * 0.15
    shift = (torch.rand(b, 2) * 2 - 1) * (3 / 14)  # grid units: 14 px = 1.0
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin + shear, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (B, 2, 3): output grid -> input sampling positions
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # Stroke width: thicken a fifth of the batch, thin another seventh (half-strength erosion
    # so thin MNIST strokes do not vanish).
    pick = torch.rand(b)
    thick = (pick < 0.2).view(b, 1, 1, 1)
    thin = ((pick >= 0.2) & (pick < 0.34)).view(b, 1, 1, 1)
    dilated = F.max_pool2d(out, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-out, 3, stride=1, padding=1)
    out = torch.where(thick, dilated, torch.where(thin, (out + eroded) / 2, out))
    return out.clamp_(0.0, 1.0)


AUGMENTATIONS = {
    "none": lambda images: images,
    "sketch": sketch_augment,
    # A third of every batch redrawn with a uniform pen first: for the classifier that reads drawings.
    "sketch+pen": lambda images: sketch_augment(images, restroke_fraction=0.3),
}
