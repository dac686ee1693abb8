"""The import graph obeys the declared layers (scripts/check_layers.py), and the checker
finds the problems it is meant to find."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_layers.py"


@pytest.fixture(scope="module")
def check_layers():
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("check_layers", None)


def test_pixelfes_has_no_cycle_no_upward_import_and_no_long_module(check_layers) -> None:
    src = SCRIPT.parents[1] / "src"
    assert check_layers.problems(src) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pixelfes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_lazy_import_cycle_and_an_upward_arrow_are_reported(check_layers, tmp_path) -> None:
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "models/__init__.py": "",
            "models/base.py": "def save():\n    from pixelfes.models import serialization\n",
            "models/serialization.py": "from pixelfes.models.base import save\n",
            "training.py": "",
            "faces/__init__.py": "from pixelfes.training import x\n",
        },
    )
    found = check_layers.problems(src)
    assert "cycle: pixelfes.models.base <-> pixelfes.models.serialization" in found
    assert any(line.startswith("upward: pixelfes.faces (faces)") for line in found)
    assert len(found) == 2


def test_type_checking_imports_do_not_count_and_relative_imports_do(check_layers, tmp_path):
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "exceptions.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pixelfes.cli import main\n"
            ),
            "cli/__init__.py": "from .. import exceptions\n",
            "models/__init__.py": "from ..cli import x\n",
        },
    )
    assert check_layers.problems(src) == [
        "upward: pixelfes.models (models) imports pixelfes.cli (interfaces)"
    ]


def test_long_and_unlayered_modules_are_reported(check_layers, tmp_path) -> None:
    src = _write(tmp_path, {"__init__.py": "", "newthing.py": "x = 1\n" * 501})
    found = check_layers.problems(src)
    assert "no layer: pixelfes.newthing (add it to LAYERS in scripts/check_layers.py)" in found
    assert "too long: pixelfes.newthing has 501 lines (at most 500)" in found


def test_the_command_exits_non_zero_on_a_problem(check_layers, tmp_path, capsys) -> None:
    src = _write(
        tmp_path,
        {"__init__.py": "", "models/__init__.py": "import pixelfes.cli\n", "cli/__init__.py": ""},
    )
    assert check_layers.main(["check_layers.py", str(src)]) == 1
    assert "upward: pixelfes.models" in capsys.readouterr().out
