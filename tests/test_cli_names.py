"""One word per idea on the command line; the former spellings work for one release, warned."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from pixelfes.cli import main

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_apply_is_a_deprecated_name_of_edit(tmp_path) -> None:
    photo = Path(shutil.copy(PORTRAIT, tmp_path / "portrait.jpg"))
    result = invoke("apply", photo, "--to", "happy", "-o", tmp_path / "out.jpg")
    assert result.exit_code == 0, result.output
    assert "`pixelfes apply` is deprecated" in result.output and "pixelfes edit" in result.output
    assert (tmp_path / "out.jpg").is_file()
    assert "apply" not in invoke("--help").output  # hidden, so new users learn one name


def test_to_lists_the_valid_expressions() -> None:
    result = invoke("edit", "x.jpg", "--to", "joy")
    assert result.exit_code == 2
    for name in ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
        assert name in result.output
    help_text = " ".join(invoke("train", "--help").output.split())
    assert "neutral, happy, sad, surprise, anger, disgust, fear" in help_text


def test_train_model_option_is_a_deprecated_name_of_family(tmp_path) -> None:
    result = invoke("train", "--data", "london", "-o", tmp_path / "m.npz", "--sigma", "2")
    assert "--family pixel-kr" in result.output
    result = invoke("train", "--data", tmp_path / "none", "--model", "mr", "-o", tmp_path / "m.npz")
    assert "`pixelfes train --model` is deprecated" in result.output
    assert "--model" not in invoke("train", "--help").output


def test_models_summary_is_cut_at_a_word_and_reads_well() -> None:
    output = invoke("models").output
    assert "into a anger one" not in output
    for line in output.splitlines()[1:8]:
        summary = line.split("  ")[-1]
        assert summary.endswith((".", "...", ")")), summary
