"""Build the bundled geometry-aware models (``neutral-to-<expr>-geometry``) and their cards.

    python scripts/build_geometry_models.py [--out src/pixelfes/pretrained] [EXPR ...]

Deterministic. neutral -> happy is trained on the London set alone (CC BY 4.0); surprise
on CK+ and the Taiwanese set; sad, anger, disgust and fear on CK+ alone (research-only
terms, stated in the card). Needs the shared data and the geometry extra (the face mesh).

Why CK+ alone for those four: fitted on CK+, they read as the expression on the unseen
Taiwanese faces more often than the Taiwanese photos themselves do; fitted on the Taiwanese
set, they are read as neutral on CK+ faces, and the Taiwanese set poses sad the opposite
way (docs/geometry.md, "Training data of the bundled models").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelfes.data import DATASET_TERMS, find_pairs, load_pairs
from pixelfes.geometric import MAX_GAIN, train_geometry
from pixelfes.training import model_metadata

SIZE = 128
SEED = 0
DATASETS = {
    "happy": ("london",),
    "surprise": ("ckplus", "taiwanese"),
    **{e: ("ckplus",) for e in ("sad", "anger", "disgust", "fear")},
}


def build(target: str, out: Path) -> None:
    datasets = DATASETS[target]
    aligned = load_pairs(find_pairs(list(datasets), "neutral", target), size=SIZE)
    report = train_geometry(aligned.X, aligned.T, aligned.subjects, seed=SEED)
    metadata = model_metadata(report, aligned.X, "neutral", target, datasets, SEED)
    metadata["family"] = "geometry"
    name = f"neutral-to-{target}-geometry"
    path = out / f"{name}.npz"
    report.model.save(path, metadata=metadata)
    text = card(name, target, report, datasets, path, metadata)
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    print(
        f"{name}: {report.n_pairs} pairs, gain {report.model.gain_:.3f}, held-out "
        f"{report.heldout_psnr:.2f} dB (input {report.heldout_identity_psnr:.2f}), "
        f"{path.stat().st_size // 1024} KB"
    )


def gain_text(gain: float) -> str:
    if gain >= MAX_GAIN:
        return (
            "the cap, `pixelfes.geometric.MAX_GAIN`: the real targets' landmarks move further "
            "on average, in directions that differ from face to face"
        )
    return "at intensity 1 landmarks move as far as real targets' do on average"


def card(name: str, target: str, report, datasets, path: Path, meta: dict) -> str:
    """The model card; ``meta``: the metadata saved in the file (its rounded scores)."""
    model = report.model
    research = any(d != "london" for d in datasets)
    use = (
        "**Research use only** (derived from research-only datasets)."
        if research
        else "Free to use and redistribute with attribution (CC BY 4.0 training data)."
    )
    terms = "\n".join(f"- {DATASET_TERMS[d]}" for d in datasets)
    params = f"alpha={model.alpha:g}, shape_alpha={model.shape_alpha:g}, rank={model.rank}"
    parts = (
        f"texture {model.coef_.size * 2:,}; mouth {model.mouth_coef_.size * 2:,}; "
        "shape model and means the rest"
    )
    heldout = (
        f"{meta['heldout_psnr']:.2f} dB vs {meta['heldout_identity_psnr']:.2f} dB for the "
        f"unchanged input, on {meta['heldout_subjects']} held-out subjects (20% of "
        f"subjects, split seed {SEED})"
    )
    return f"""# {name}

Turns a neutral face into a {target} one by moving it and changing its texture: the 468
dense landmarks of the face (MediaPipe face mesh), a reduced-rank ridge shape model that
predicts where they go, a piecewise-affine warp of the photo at its own resolution, and a
Pixel-RR texture change learned in the mean {target} shape's frame and scaled to each face's
brightness. {use}
Use it with `pixelfes edit photo.jpg --model {target}-geometry` (needs the geometry extra).

| | |
|---|---|
| model | `GeometryModel({params})` |
| parameters | {model.n_parameters:,} ({parts}) |
| mesh | {len(model.triangles_)} triangles over {model.n_points} landmarks + 16 ring points |
| intensity gain | {model.gain_:.3f} ({gain_text(model.gain_)}) |
| file | `{path.name}`, {path.stat().st_size // 1024} KB (float32) |
| training pairs | {report.n_pairs} from {report.n_subjects} subjects ({", ".join(datasets)}) |
| held-out PSNR | {heldout} |

## Training data and terms
{terms}

## Use and limits
- Frontal faces work best; glasses frames bend with the brows; the inside of an opened
  mouth comes from the mouth model (the widest training mouths' average teeth and shadow,
  not this person's teeth).
- The comparison with plain Pixel-RR on held-out subjects and data sets, how the
  intensity gain is fitted and why these training sets, are in docs/geometry.md
  ("Results", "Intensity calibration", "Training data of the bundled models").
- Regenerate with `python scripts/build_geometry_models.py` (needs the shared datasets).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=list(DATASETS))
    parser.add_argument("--out", type=Path, default=Path("src/pixelfes/pretrained"))
    args = parser.parse_args()
    for target in args.expressions:
        build(target, args.out)


if __name__ == "__main__":
    main()
