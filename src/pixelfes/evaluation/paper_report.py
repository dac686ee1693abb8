"""The text and figures of ``results-paper.md`` (the paper's protocols), from the results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pixelfes.evaluation import report
from pixelfes.evaluation.claims import GAN_COUNT, MR_COUNT, _is, claims
from pixelfes.evaluation.methods import label
from pixelfes.evaluation.pairs import PairSet
from pixelfes.evaluation.protocols import REAL_TARGET, Results
from pixelfes.evaluation.wild import SigmaSweep

if TYPE_CHECKING:
    from pixelfes.evaluation.suite import Settings

#: Short column labels for figures.
SHORT = {
    "identity": "input",
    "mean_difference": "mean diff",
    "global_ridge": "global RR",
    "mr": "MR 3x3",
    "pixel_rr": "Pixel-RR",
    "pixel_rr_photo": "RR photo",
    "pixel_kr": "Pixel-KR",
}

#: Table I of the paper (parameters at 128x128, N = 400).
PAPER_COUNTS = {
    "mr": "16.2e4",
    "pixel_rr": "3.28e4",
    "pixel_kr": "655e4",
}


def _method_order(results: Results) -> list[str]:
    order: list[str] = []
    for row in results.timings:
        if row["method"] not in order:
            order.append(row["method"])
    return order


def qualitative_figure(
    results: Results, london: PairSet, faces: Sequence[Any], keep: frozenset[int]
) -> np.ndarray:
    """Held-out London faces and wild faces (rows) x methods (columns)."""
    shown = [m for m in SHORT if m != "identity"]
    rows, labels = [], []
    for i in sorted(keep):
        outputs = results.examples.get(("london", i), {})
        rows.append([london.X[i], *[outputs.get(m, report.blank()) for m in shown], london.T[i]])
        labels.append(f"London {london.subjects[i].split(':')[-1]}")
    for j, face in enumerate(faces):
        outputs = results.examples.get(("wild", j), {})
        rows.append([face.crop, *[outputs.get(m, report.blank()) for m in shown], report.blank()])
        labels.append(face.name.split("_")[0].split(".")[0][:11])
    from pixelfes.figures import labelled_grid

    return labelled_grid(
        rows,
        col_labels=["input", *[SHORT[m] for m in shown], "real target"],
        row_labels=labels,
        cell=128,
    )


def sigma_figure(sweep: SigmaSweep) -> np.ndarray:
    """Fig. 5 analogue: outputs for each sigma beside PSNR and accuracy curves."""
    from pixelfes.figures import labelled_grid

    rows = []
    for j in range(len(sweep.inputs)):
        row = [sweep.inputs[j]] + [sweep.outputs[s][j] for s in sweep.sigmas]
        rows.append([*row, sweep.outputs["Pixel-RR"][j], sweep.targets[j]])
    grid = labelled_grid(
        rows,
        col_labels=["input", *[f"s={s:g}" for s in sweep.sigmas], "Pixel-RR", "target"],
        cell=112,
    )
    blue, red, grey = (30, 90, 200), (200, 40, 40), (90, 90, 90)
    psnr = report.line_plot(
        sweep.sigmas,
        [("Pixel-KR", sweep.psnr, blue)],
        hlines=[("Pixel-RR", sweep.ridge_psnr, grey)],
        title=f"held-out PSNR (dB), {sweep.n_test} London faces",
        xlabel="sigma (log scale)",
    )
    accuracy = report.line_plot(
        sweep.sigmas,
        [("Pixel-KR", sweep.accuracy, red)],
        hlines=[("Pixel-RR", sweep.ridge_accuracy, grey)],
        title="classified as happy (fraction)",
        xlabel="sigma (log scale)",
    )
    return report.stack([grid, report.stack([psnr, accuracy], vertical=False)])


def _table_one(results: Results, methods: Sequence[str]) -> str:
    size, n = 128 * 128, 400
    formula = {
        "identity": ("0", 0),
        "mean_difference": ("H W (per channel)", size),
        "global_ridge": ("(H W)^2", size * size),
        "mr": ("in-image 3x3 weights + bias", MR_COUNT),
        "pixel_rr": ("2 H W", 2 * size),
        "pixel_rr_cv": ("2 H W", 2 * size),
        "pixel_rr_photo": ("2 H W", 2 * size),
        "pixel_rr_photo_colour": ("2 H W", 2 * size),
        "pixel_kr": ("N H W (+ N H W stored inputs)", n * size),
        "pixel_kr_lut": ("256 H W table entries", 256 * size),
    }
    fitted = [r for r in results.timings if r["protocol"] == "wild" and r["train_set"] == "london"]
    measured = {r["method"]: r["n_parameters"] for r in fitted}
    n_london = fitted[0]["n_train"] if fitted else 0
    rows = []
    for m in methods:
        text, value = formula.get(m, ("", None))
        rows.append(
            [
                label(m),
                text,
                f"{value:.3g}" if value is not None else "–",
                PAPER_COUNTS.get(m, "–"),
                f"{measured[m]:,}" if m in measured else "–",
            ]
        )
    rows += [
        ["StarGAN (cited)", "generator", "–", f"{GAN_COUNT / 1e4:.0f}e4", "not run"],
        ["GANimation (cited)", "generator", "–", f"{GAN_COUNT / 1e4:.0f}e4", "not run"],
    ]
    return report.markdown_table(
        [
            "method",
            "count",
            "formula, 128x128 gray, N=400",
            "paper (Table I)",
            f"measured: London, N={n_london}, RGB",
        ],
        rows,
    )


def _timing_table(results: Results, methods: Sequence[str], test_set: str) -> str:
    rows = []
    for m in methods:
        t = [r for r in results.timings if r["method"] == m and r["protocol"] == "within"]
        t = [r for r in t if r["test_set"] == test_set]
        if not t:
            continue
        rows.append(
            [
                label(m),
                f"{np.mean([r['n_train'] for r in t]):.0f}",
                f"{np.mean([r['fit_s'] for r in t]):.2f}",
                f"{1000 * np.mean([r['predict_s_per_image'] for r in t]):.2f}",
            ]
        )
    return report.markdown_table(
        ["method", "training pairs (mean)", "fit s (mean per fold)", "predict ms / image"], rows
    )


def markdown(
    settings: Settings, results: Results, methods: Sequence[str], sweep: SigmaSweep
) -> str:
    """The text of ``results-paper.md``."""
    records = results.records
    with_target = [REAL_TARGET, *methods]
    lines = [
        "# Evaluation results",
        "",
        "Generated by `pixelfes evaluate"
        + (" --quick" if settings.quick else "")
        + "` (src/pixelfes/evaluation/); do not edit by hand: rerun the command. "
        "Per-image scores: `results/per_image.csv.gz` (gzip); fit/predict times: "
        "`results/timings.csv` "
        "(the only numbers that change between runs).",
        "",
        "## Setup",
        "",
        "- Crops: 128x128, aligned by `pixelfes.faces` (`load_pairs`); intensities on [0, 1] "
        "(the scale of the kernel widths). Outputs are clipped to [0, 1] before scoring.",
        "- Methods (one interface, `pixelfes.evaluation.methods.Method`): identity (output = "
        "input, the floor), mean difference (input + per-pixel mean of target - input), global "
        "ridge (Eq. 1-2), MR (3x3 neighbourhood + bias per pixel and channel), Pixel-RR "
        '(`channels="shared"`), Pixel-RR with lambda chosen by 3-fold subject-disjoint CV '
        "inside each training fold, Pixel-RR through the photo pipeline "
        "(`pixelfes.editing.synthesize`: luma-only synthesis, the change added to R, G and B; "
        "and with its optional colour matching to the training faces), Pixel-KR and its "
        "lookup-table compilation. lambda = 0.4; "
        "Pixel-KR sigma = 3 for neutral->happy and 10 for the other expressions (paper).",
        "- Pixel-KR is fitted on the luma of the training pairs (one function per "
        "location); colour faces get the luma change added to R, G and B alike (as the "
        "photo pipeline does), "
        + (
            "on every training pair (the exact grouped solve over the 256 input levels). "
            if settings.kr_max_train is None
            else f"on at most {settings.kr_max_train} training pairs (a fixed random subset). "
        )
        + "`Pixel-KR (CV sigma, lambda)` chooses both by 3-fold subject-disjoint CV on each "
        "run's training pairs (`pixelfes.kernel_selection`); the sigma sweep below shows "
        "the effect of the width at lambda 0.4.",
        f"- Within-dataset: subject-disjoint {settings.k}-fold CV (`subject_kfold`, seed 0): "
        "every pair is scored once by a model that never saw its subject.",
        "- Cross-dataset: fit on all pairs of one set, test on all pairs of another with the "
        "real target photo as ground truth. CK+ is grayscale: runs involving it convert the "
        "colour set to BT.601 luma and compare in grayscale.",
        "- Metrics: PSNR, SSIM (against the real target), LPIPS (AlexNet), sharpness (gradient "
        "energy of output / target; < 1 = blurrier), identity (dlib embedding distance of "
        "output to the person's real target; < 0.6 = same person for dlib), expression accuracy "
        "(FER2013 mini-Xception: fraction classified as the target expression; "
        "`real target` rows are its ceiling, `identity` rows the input floor).",
        f"- LPIPS is computed on the first image of up to {settings.lpips_subjects} test "
        f"subjects per run (all London test images), identity on up to "
        f"{settings.identity_subjects} subjects per run ({settings.london_identity_subjects} "
        "on London), to bound run time; the `images` column of each table counts PSNR images.",
        "- Intervals: 95% percentile bootstrap over subjects (`mean_ci`, 2000 replicates, seed 0).",
        "",
    ]
    if results.skipped:
        lines += ["Skipped inputs: " + "; ".join(results.skipped), ""]

    lines += ["## Table I analogue: parameters", "", _table_one(results, methods), ""]
    lines += [
        "Measured counts are each method's `n_parameters` after fitting on all London "
        "pairs in colour (MR has one model per channel, hence 3x; Pixel-RR shares one (w, b) "
        "per location across R, G, B; Pixel-KR's dual coefficients scale with N).",
        "",
    ]

    sections = []
    within_sets = sorted(
        {d for d, _ in settings.within}, key=["london", "ckplus", "taiwanese"].index
    )
    for dataset in within_sets:
        expressions = [e for d, e in settings.within if d == dataset]
        what = expressions[0] if len(expressions) == 1 else f"{len(expressions)} expressions pooled"
        sections.append((f"Within {dataset} ({what})", _is(protocol="within", test_set=dataset)))
    if settings.cross:
        sections.append(("Cross-dataset (all runs pooled)", _is(protocol="cross")))
    lines += ["## Image and expression metrics (mean [95% CI])", ""]
    for title, select in sections:
        lines += [f"### {title}", "", report.metrics_table(records, methods, select), ""]

    lines += ["## Table III analogue: expression accuracy (%)", ""]
    within_cols = [
        (f"{d} {e}", _is(protocol="within", test_set=d, expression=e)) for d, e in settings.within
    ]
    lines += [
        "### Within-dataset",
        "",
        report.accuracy_table(records, with_target, within_cols),
        "",
    ]
    if settings.cross:
        cross_cols = [
            (f"{a}->{b} {e}", _is(protocol="cross", train_set=a, test_set=b, expression=e))
            for a, b, e in settings.cross
        ]
        lines += ["### Cross-dataset", "", report.accuracy_table(records, with_target, cross_cols)]
        lines += [""]
        psnr_cols = []
        for a, b, e in settings.cross:
            psnr_cols.append((f"{a}->{b} {e}", (a, b, e)))
        lines += ["### Cross-dataset PSNR (dB) per run", ""]
        body = []
        for m in methods:
            cells = []
            for _, (a, b, e) in psnr_cols:
                v = [
                    r["psnr"]
                    for r in records
                    if r["method"] == m
                    and _is(protocol="cross", train_set=a, test_set=b, expression=e)(r)
                ]
                cells.append(f"{np.mean(v):.2f}" if v else "–")
            body.append([label(m), *cells])
        lines += [report.markdown_table(["method", *[c for c, _ in psnr_cols]], body), ""]
    lines += [
        "The classifier is reliable for happy and surprise and weak for anger, disgust and "
        "fear even on real photos (see docs/evaluation.md): read those columns against the "
        "`real target` ceiling.",
        "",
    ]

    wild_rows = [r for r in records if r["protocol"] == "wild"]
    if wild_rows:
        lines += ["## Wild images (trained on all London pairs; classifier only)", ""]
        names = sorted({r["image"] for r in wild_rows})
        body = []
        for m in methods:
            cells = []
            for name in names:
                r = next((x for x in wild_rows if x["method"] == m and x["image"] == name), None)
                cells.append(f"{r['predicted']} ({r['p_target']:.2f})" if r else "–")
            body.append([label(m), *cells])
        lines += [
            "Predicted expression (probability of happy); the `identity` row is the input.",
            "",
            report.markdown_table(["method", *names], body),
            "",
        ]

    lines += [
        "## Fit and predict time (London, per fold)",
        "",
        _timing_table(results, methods, "london"),
        "",
    ]
    if any(r["test_set"] == "taiwanese" and r["protocol"] == "within" for r in results.timings):
        lines += [
            "Taiwanese (larger training sets):",
            "",
            _timing_table(results, methods, "taiwanese"),
            "",
        ]

    lines += [
        "## Figures",
        "",
        "![qualitative](figures/results_qualitative.jpg)",
        "",
        "Held-out London faces (each predicted by a fold model that never saw the person) "
        "and wild photos (models fitted on all London pairs). Only London and wild faces "
        "are shown: CK+ and Taiwanese images are research-only.",
        "",
        "![sigma sweep](figures/results_sigma_sweep.png)",
        "",
        f"Pixel-KR sigma sweep (Fig. 5 analogue): fitted on {sweep.n_train} London pairs, "
        f"scored on {sweep.n_test} held-out subjects (subject-disjoint 80/20 split, seed 0).",
        "",
        report.markdown_table(
            ["sigma", *[f"{s:g}" for s in sweep.sigmas], "Pixel-RR"],
            [
                ["PSNR dB", *[f"{v:.2f}" for v in sweep.psnr], f"{sweep.ridge_psnr:.2f}"],
                ["accuracy", *[f"{v:.2f}" for v in sweep.accuracy], f"{sweep.ridge_accuracy:.2f}"],
            ],
        ),
        "",
    ]
    lines += claims(settings, results, methods)
    lines += [
        "Pixel-KR's sigma curve with sigma and lambda chosen by cross-validation on all "
        "pairs (`scripts/sigma_curve.py`): [results-sigma-cv.md](results-sigma-cv.md).",
        "",
    ]
    return "\n".join(lines) + "\n"
