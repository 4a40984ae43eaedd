"""``nabla sample``: draw images from a generative model trained by ``nabla train`` (vae, gan, dcgan, cgan, ae, dae).

    nabla sample runs/vae-mnist --n 64 --out grid.png          # an 8-per-row PNG grid
    nabla sample runs/dcgan-mnist --n 1000 --out samples.npy   # the raw samples, (n, 1, 28, 28) in [0, 1]
    nabla sample runs/cgan-mnist --labels 7 --out sevens.png   # a conditional GAN: the digits asked for
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UsageError, positive_int, restore_model

_FORMATS = (".png", ".npy")


def _labels(text: str) -> list[int]:
    """argparse type: comma-separated class indices, e.g. ``0,1,2`` or ``7``."""
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated class numbers such as 0,1,2 or 7, got "
                                         f"{text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected class numbers >= 0, got {text!r}")
    return values


def add_parser(subparsers) -> None:
    s = subparsers.add_parser(
        "sample", help="draw images from a generative model's checkpoint",
        description="Draw --n images from a generative model trained by 'nabla train' (vae, gan, dcgan, cgan; for "
        "ae/dae codes from a Gaussian fitted to the training codes) and write them to --out: a .png grid or a .npy "
        "array (n, C, H, W) of values in [0, 1].")
    s.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint written by 'nabla train' (or the run folder)")
    s.add_argument("--n", type=positive_int, default=64, help="how many images (default 64)")
    s.add_argument("--out", default="samples.png", metavar="FILE",
                   help="where to write them: FILE.png (a grid) or FILE.npy (the raw array); default samples.png")
    s.add_argument("--seed", type=int, default=0, help="random seed: the same seed draws the same images (default 0)")
    s.add_argument("--labels", type=_labels, default=None, metavar="L[,L...]",
                   help="conditional GAN: the class of each image (n of them, or one for all; default 0,1,...,9 "
                   "in turn)")
    s.add_argument("--nrow", type=positive_int, default=8, help="images per row of the PNG grid (default 8)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy

    out = Path(args.out)
    if out.suffix.lower() not in _FORMATS:
        raise UsageError(f"--out {args.out}: write a .png grid or a .npy array (got {out.suffix or 'no extension'!r})")
    if not out.parent.is_dir():
        raise UsageError(f"--out {args.out}: the folder {out.parent} does not exist")
    model, meta, _ = restore_model(args.checkpoint)
    if not hasattr(model, "sample"):
        from ..models import list_models

        generative = [m for m in ("ae", "dae", "vae", "gan", "dcgan", "cgan") if m in list_models()]
        raise UsageError(f"{args.checkpoint} holds a {meta['model']}, which does not draw samples; train one of: "
                         f"{', '.join(generative)}")
    conditional = bool(getattr(model, "num_classes", 0))
    if args.labels is not None and not conditional:
        raise UsageError(f"--labels: {meta['model']} is not conditional; train cgan to ask for a class")
    kwargs = {}
    if conditional:
        labels = args.labels
        if labels is not None:
            if max(labels) >= model.num_classes:
                raise UsageError(f"--labels: classes lie in 0..{model.num_classes - 1}, got {max(labels)}")
            if len(labels) not in (1, args.n):
                raise UsageError(f"--labels: give one label or --n ({args.n}) of them, got {len(labels)}")
        kwargs["labels"] = labels
    images = model.sample(args.n, seed=args.seed, **kwargs).numpy()
    if out.suffix.lower() == ".npy":
        numpy.save(out, images.astype(numpy.float32))
    else:
        from ..train import save_image_grid

        save_image_grid(images, out, nrow=args.nrow)
    shape = "x".join(map(str, images.shape))
    print(f"wrote {out} ({args.n} samples from {meta['model']}, seed {args.seed}, array {shape} in [0, 1])")
    return 0
