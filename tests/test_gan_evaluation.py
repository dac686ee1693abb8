"""GAN rows in `pixelfes evaluate`: which split gets which checkpoint, and the leak guard.

``run_lodo``'s own routing of ``extra_methods`` is tested in test_evaluation_lodo_rows.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason='the GAN baselines need PyTorch: pip install -e ".[gan]"'
)

from pixelfes.baselines.method import SplitGANMethod, lodo_gan_methods, trained_on  # noqa: E402
from pixelfes.baselines.pool import DOMAINS, data_meta  # noqa: E402
from pixelfes.baselines.train import TrainConfig, Trainer  # noqa: E402

TINY = {"image_size": 16, "conv_dim": 4, "n_residual": 1, "d_conv_dim": 4, "d_layers": 2}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One PyTorch thread (later tests fork face-detector workers)."""
    torch.set_num_threads(1)


def checkpoint(path: Path, model: str, meta: dict) -> Path:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    config = TrainConfig(model=model, c_dim=len(DOMAINS), batch_size=2, **TINY)
    Trainer(config, images, np.arange(6) % 3, meta=meta).save(path)
    return path


def lodo_meta(held_out: str, subjects: list[str]) -> dict:
    sets = ["london", "ckplus", "taiwanese"]
    return {**data_meta(sets, ["happy"], hold_out_dataset=held_out), "train_subjects": subjects}


def split(held_out: str, test_subjects: list[str], expression: str = "happy"):
    """A stand-in for pixelfes.evaluation.lodo.Split (only what the GAN rows read)."""
    test = SimpleNamespace(subjects=test_subjects)
    return SimpleNamespace(expression=expression, held_out=held_out, test=test)


@pytest.fixture()
def taiwanese_out(tmp_path):
    """Both models trained with the Taiwanese set held out (London and CK+ subjects)."""
    meta = lodo_meta("taiwanese", ["london:001", "ckplus:S005"])
    return [checkpoint(tmp_path / f"{m}.pt", m, meta) for m in ("stargan", "ganimation")]


def test_checkpoint_records_what_it_trained_on(taiwanese_out):
    info = trained_on(taiwanese_out[0])
    assert info.model == "stargan" and info.label == "StarGAN" and info.step == 0
    assert info.datasets == {"london", "ckplus"} and info.hold_out_dataset == "taiwanese"
    assert info.subjects == {"london:001", "ckplus:S005"}


def test_gan_rows_only_for_the_dataset_never_seen(taiwanese_out):
    extra = lodo_gan_methods(taiwanese_out)
    assert extra(split("london", ["london:002"])) == []
    assert extra(split("ckplus", ["ckplus:S010"])) == []
    methods = extra(split("taiwanese", ["taiwanese:01", "taiwanese:02"], "sad"))
    assert [(m.id, m.label, m.target) for m in methods] == [
        ("stargan", "StarGAN", "sad"),
        ("ganimation", "GANimation", "sad"),
    ]
    faces = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    for method in methods:
        out = method.fit(faces[..., :1], faces[..., :1]).predict(faces)
        assert out.shape == faces.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_gan_method_refuses_a_split_it_trained_on(taiwanese_out, tmp_path):
    faces = np.zeros((1, 16, 16, 3), np.uint8)
    # a held-out dataset it saw (one subject of it is enough)
    with pytest.raises(RuntimeError, match="trained on the test data"):
        SplitGANMethod(taiwanese_out[0], split("ckplus", ["ckplus:S010"])).fit(faces, faces)
    # a test subject it trained on, even when only subjects must be unseen (in-dataset)
    seen = split("london", ["london:001", "london:002"])
    with pytest.raises(RuntimeError, match="london:001"):
        SplitGANMethod(taiwanese_out[0], seen, whole_dataset=False).fit(faces, faces)
    unseen = split("london", ["london:002"])
    SplitGANMethod(taiwanese_out[0], unseen, whole_dataset=False).fit(faces, faces)
    # two checkpoints of one model cannot both be the row of one split
    twin = checkpoint(tmp_path / "twin.pt", "stargan", lodo_meta("taiwanese", ["london:001"]))
    with pytest.raises(ValueError, match="two checkpoints"):
        lodo_gan_methods([taiwanese_out[0], twin])(split("taiwanese", ["taiwanese:01"]))


def test_evaluate_passes_gan_checkpoints_on(taiwanese_out, tmp_path, monkeypatch):
    """`pixelfes evaluate --gan-checkpoint` hands run_lodo the GAN rows' factory."""
    from click.testing import CliRunner

    import pixelfes.evaluation.lodo_suite as lodo_suite
    from pixelfes.cli import main

    got = {}

    def fake_run_lodo(out, root, settings, private_figures, log, extra_methods=None):
        got["extra"] = extra_methods
        return {"scores": out / "s.csv.gz", "n_rows": 0, "figures": [], "seconds": {}}

    monkeypatch.setattr(lodo_suite, "run_lodo", fake_run_lodo)
    monkeypatch.setattr(lodo_suite, "write_results_md", lambda out: out / "results.md")
    args = ["evaluate", "--protocol", "lodo", "--data-root", str(tmp_path), "-o", str(tmp_path)]
    for path in taiwanese_out:
        args += ["--gan-checkpoint", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ids = [m.id for m in got["extra"](split("taiwanese", ["taiwanese:01"]))]
    assert ids == ["stargan", "ganimation"]
    assert got["extra"](split("london", ["london:009"])) == []


def test_budget_and_scores_tables(taiwanese_out):
    """The generated page's tables: budget from the checkpoint, scores from records."""
    from pixelfes.baselines.in_dataset import budget_table, scores_table

    info = trained_on(taiwanese_out[1])
    budget = budget_table([("ganimation.pt", info, 10)])
    assert (
        "| ganimation.pt | GANimation | ckplus+london (2 subjects) | taiwanese | 10 | 0 |" in budget
    )
    base = {"expression": "happy", "held_out": "london", "n_train": 40, "subject": "s"}
    scores = {"psnr": 20.0, "ssim": 0.5, "lpips": 0.2, "ghost": 1.0, "id_input": 0.3}
    scores.update(fer_hit=1.0, facex_hit=0.0, id_target=0.5)
    records = [
        {**base, "method": m, **scores} for m in ("input", "pixel_rr", "stargan", "real_target")
    ]
    text = scores_table(records, {"stargan": "StarGAN", "pixel_rr": "Pixel-RR"})
    lines = text.splitlines()
    assert [line.split(" | ")[2] for line in lines[2:]] == [
        "input",
        "Pixel-RR",
        "StarGAN",
        "real_target",
    ]
    assert "| london (40 train pairs) | happy | StarGAN | 1 | 100 | 1.00 |" in text


@pytest.mark.data
def test_older_checkpoints_subjects_are_recomputed(shared_data):
    """Without a recorded list, the training subjects follow from the split settings."""
    from pixelfes.baselines.pool import labelled_images, training_subjects

    meta = data_meta(["london"], ["happy"])
    train = labelled_images(["london"], ["happy"], split="train", root=shared_data)
    test = labelled_images(["london"], ["happy"], split="test", root=shared_data)
    assert training_subjects(meta, shared_data) == set(train.subjects)
    assert not training_subjects(meta, shared_data) & set(test.subjects)
    everything = data_meta(["london", "ckplus"], ["happy"], hold_out_dataset="ckplus")
    assert training_subjects(everything, shared_data) == set(train.subjects) | set(test.subjects)


@pytest.mark.data
def test_in_dataset_splits_are_the_checkpoints_held_out_subjects(shared_data):
    """The in-dataset table tests exactly the subjects the checkpoint held out."""
    from pixelfes.baselines.in_dataset import in_dataset_splits
    from pixelfes.baselines.pool import held_out_subjects, training_subjects

    meta = data_meta(["london"], ["happy"])
    (split,) = in_dataset_splits(meta, shared_data, max_test_per_subject=1)
    held = held_out_subjects("london", ["happy"], root=shared_data)
    assert (split.expression, split.held_out) == ("happy", "london")
    assert sorted(split.test.subjects) == sorted(held)  # one pair each
    assert set(split.train.subjects) == training_subjects(meta, shared_data)
    with pytest.raises(ValueError, match="held out subjects"):
        in_dataset_splits(data_meta(["london", "ckplus"], ["happy"], hold_out_dataset="ckplus"))
