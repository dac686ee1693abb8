"""Find (input, target) image pairs in the shared datasets or in a user's own folder.

A :class:`Pair` names two files of the same person: ``input_path`` shows
``source_expression``, ``target_path`` shows ``target_expression``. Subject ids are
namespaced by dataset (``london:001``, ``ckplus:S010``, ``taiwanese:01``, ``<folder>:alice``)
so that datasets can be combined without two people sharing an id. Finding pairs only
lists files; nothing is read or decoded here (see :mod:`pixelfes.data.cache`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelfes.config import data_root
from pixelfes.exceptions import DatasetError
from pixelfes.expressions import EXPRESSIONS, normalise_expression
from pixelfes.formats import IMAGE_EXTENSIONS

__all__ = ["DATASETS", "DATASET_TERMS", "IMAGE_EXTENSIONS", "Pair", "dataset_dir", "find_pairs"]

#: The shared datasets by name, with their folder under the data root.
DATASETS = {"london": "london", "ckplus": "ckplus128", "taiwanese": "taiwanese256"}
#: Each shared dataset's terms as they bind a model trained on it (quoted in model cards).
DATASET_TERMS = {
    "london": "Face Research Lab London Set (DeBruine & Jones 2017), CC BY 4.0: the model "
    "may be used and redistributed with attribution.",
    "ckplus": "Extended Cohn-Kanade (CK+; Kanade et al. 2000, Lucey et al. 2010): "
    "non-commercial research use only. This model is derived from it: research use only.",
    "taiwanese": "Taiwanese Facial Expression Image Database (Chen, Cho & Tseng 2013): "
    "academic research only. This model is derived from it: research use only.",
}
_DATASET_ALIASES = {"ck+": "ckplus", "ckplus128": "ckplus", "taiwanese256": "taiwanese"}
#: File endings (lower case) treated as images in a user's folder.
_MAX_LISTED = 20


@dataclass(frozen=True)
class Pair:
    """One training pair: the same person with two expressions."""

    dataset: str
    subject: str
    source_expression: str
    target_expression: str
    input_path: Path
    target_path: Path


def _listing(items: Iterable[object]) -> str:
    items = [str(item) for item in items]
    shown = "\n  ".join(items[:_MAX_LISTED])
    more = f"\n  ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"\n  {shown}{more}"


def _expressions(source: str, target: str) -> tuple[str, str]:
    source, target = normalise_expression(source), normalise_expression(target)
    if source == target:
        raise DatasetError(f"source and target expression are both {source!r}")
    return source, target


def _neutral_and_other(dataset: str, source: str, target: str) -> str:
    """The non-neutral side of a neutral <-> expression request (datasets pair only those)."""
    if "neutral" not in (source, target):
        raise DatasetError(
            f"{dataset} pairs each expression with the same person's neutral face; one of "
            f"source/target must be 'neutral', got {source!r} -> {target!r}"
        )
    return target if source == "neutral" else source


def _make_pair(
    dataset: str, subject: str, source: str, target: str, neutral: Path, other: Path
) -> Pair:
    """A pair from a neutral file and an expression file, oriented source -> target."""
    input_path, target_path = (neutral, other) if source == "neutral" else (other, neutral)
    return Pair(dataset, f"{dataset}:{subject}", source, target, input_path, target_path)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"dataset folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def dataset_dir(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a shared dataset: ``<root>/<folder>``, ``root`` defaulting to ``data_root()``.

    ``root`` may also be the dataset's own folder.
    """
    key = _DATASET_ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    base = Path(root).expanduser() if root is not None else data_root()
    if base is None:
        raise DatasetError(
            "shared data not found: set PIXELFES_DATA, place it at ../shared/data or pass root="
        )
    folder = base / DATASETS[key]
    if folder.is_dir():
        return folder
    if base.name == DATASETS[key] and base.is_dir():
        return base
    raise DatasetError(f"dataset {key!r} not found: no folder {folder}")


# -- london ---------------------------------------------------------------------------

_LONDON = {"neutral": ("neutral", "03"), "happy": ("smiling", "08")}


def _london(folder: Path, source: str, target: str) -> list[Pair]:
    for expression in (source, target):
        if expression not in _LONDON:
            raise DatasetError(
                f"london has only neutral and happy (smiling) faces, not {expression!r}"
            )
    found: dict[str, dict[str, Path]] = {}
    for expression in (source, target):
        sub, code = _LONDON[expression]
        pattern = re.compile(rf"^(\d+)_{code}\.jpg$", re.IGNORECASE)
        for path in _files(folder / sub):
            match = pattern.match(path.name)
            if match:
                found.setdefault(match.group(1), {})[expression] = path
    if not found:
        raise DatasetError(f"no london images (NNN_03.jpg / NNN_08.jpg) in {folder}")
    unpaired = [
        f"{paths[e]} (missing its {'target' if e == source else 'input'})"
        for paths in found.values()
        if len(paths) == 1
        for e in paths
    ]
    if unpaired:
        raise DatasetError(f"unpaired london images:{_listing(unpaired)}")
    return [
        Pair("london", f"london:{sid}", source, target, paths[source], paths[target])
        for sid, paths in sorted(found.items())
    ]


# -- CK+ ------------------------------------------------------------------------------

_CKPLUS_FOLDERS = {
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprise",
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
}
# Exactly 8 frame digits: 9-digit names are spurious extra detections (often background).
_CKPLUS_NAME = re.compile(r"^(S\d+)_(\d+)_(\d{8})\.png$", re.IGNORECASE)


def _ckplus(folder: Path, source: str, target: str) -> list[Pair]:
    expression = _neutral_and_other("ckplus", source, target)
    peaks: dict[tuple[str, str], tuple[int, Path]] = {}
    for path in _files(folder / _CKPLUS_FOLDERS[expression]):
        match = _CKPLUS_NAME.match(path.name)
        if match is None:
            continue
        subject, sequence, frame = match.group(1), match.group(2), int(match.group(3))
        best = peaks.get((subject, sequence))
        if best is None or frame > best[0]:  # the peak is the last frame of a sequence
            peaks[(subject, sequence)] = (frame, path)
    pairs = []
    for (subject, sequence), (_, peak) in sorted(peaks.items()):
        neutral = folder / "neutral" / f"{subject}_{sequence}_00000001.png"
        if neutral.is_file():  # a few sequences have only spurious 9-digit neutral files
            pairs.append(_make_pair("ckplus", subject, source, target, neutral, peak))
    return pairs


# -- Taiwanese ------------------------------------------------------------------------

# PP performer, T performance type (0 neutral), V view (1 front), E expression, SS serial.
_TAIWANESE_NAME = re.compile(r"^(\d{2})([0-3])([1-3])([a-g0])(\d{2})\.jpg$", re.IGNORECASE)


def _taiwanese(folder: Path, source: str, target: str) -> list[Pair]:
    expression = _neutral_and_other("taiwanese", source, target)
    neutrals: dict[str, Path] = {}
    others: dict[str, list[Path]] = {}
    for path in _files(folder / "faces_256x256"):
        match = _TAIWANESE_NAME.match(path.name)
        if match is None or match.group(3) != "1":  # front view only
            continue
        performer, kind, code = match.group(1), match.group(2), match.group(4).lower()
        if kind == "0" or code in ("a", "0"):
            # Neutral: deterministic choice, the lowest serial (names sort by serial).
            neutrals.setdefault(performer, path)
        elif normalise_expression(code) == expression:
            others.setdefault(performer, []).append(path)
    return [
        _make_pair("taiwanese", performer, source, target, neutrals[performer], path)
        for performer in sorted(others)
        if performer in neutrals
        for path in others[performer]
    ]


# -- a user's own folder --------------------------------------------------------------


def _images(folder: Path, recurse: bool) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and recurse:
            found.extend(_images(path, recurse=False))
        elif path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            found.append(path)
    return found


def _by_key(paths: list[Path], key_of) -> dict[str, Path]:
    keyed: dict[str, list[Path]] = {}
    for path in paths:
        keyed.setdefault(key_of(path), []).append(path)
    clashes = [" and ".join(map(str, ps)) for ps in keyed.values() if len(ps) > 1]
    if clashes:
        raise DatasetError(
            f"several images share one name (remove all but one):{_listing(clashes)}"
        )
    return {key: ps[0] for key, ps in keyed.items()}


def _paired_layout(folder: Path, name: str, source: str, target: str) -> list[Pair]:
    sides = {side: folder / side for side in ("input", "target")}
    for side, path in sides.items():
        if not path.is_dir():
            raise DatasetError(f"{folder} has no {side}/ folder (the input/ + target/ layout)")
    found = {}
    for side, path in sides.items():
        images = _images(path, recurse=True)
        if not images:
            raise DatasetError(f"no images in {path} (endings: {', '.join(IMAGE_EXTENSIONS)})")
        found[side] = _by_key(
            images, lambda p, base=path: p.relative_to(base).with_suffix("").as_posix()
        )
    inputs, targets = found["input"], found["target"]
    unpaired = [f"{inputs[k]} (missing target)" for k in sorted(inputs.keys() - targets.keys())]
    unpaired += [f"{targets[k]} (missing input)" for k in sorted(targets.keys() - inputs.keys())]
    if unpaired:
        raise DatasetError(
            f"unpaired images in {folder} (input/ and target/ need the same file names, "
            f"the ending aside):{_listing(unpaired)}"
        )
    pairs = []
    for key in sorted(inputs):
        subject = key.split("/")[0] if "/" in key else key
        pairs.append(Pair(name, f"{name}:{subject}", source, target, inputs[key], targets[key]))
    return pairs


def _flat_layout(folder: Path, name: str, source: str, target: str) -> list[Pair]:
    images = _images(folder, recurse=False)
    if not images:
        raise DatasetError(
            f"no images in {folder}: expected input/ + target/ folders or files named "
            f"<subject>_<expression>.<ext> (endings: {', '.join(IMAGE_EXTENSIONS)})"
        )
    labelled: dict[Path, tuple[str, str]] = {}
    bad = []
    for path in images:
        subject, sep, label = path.stem.rpartition("_")
        if not sep or not subject:
            bad.append(f"{path.name} (name is not <subject>_<expression>)")
            continue
        try:
            labelled[path] = (subject, normalise_expression(label))
        except DatasetError:
            bad.append(f"{path.name} (unknown expression {label!r})")
    if bad:
        raise DatasetError(
            f"cannot read the expression from these file names in {folder}:{_listing(bad)}\n"
            f"valid expressions: {', '.join(EXPRESSIONS)}"
        )
    by_subject: dict[str, dict[str, Path]] = {}
    keyed = _by_key(list(labelled), lambda p: "_".join(labelled[p]))
    for path in keyed.values():
        subject, expression = labelled[path]
        by_subject.setdefault(subject, {})[expression] = path
    pairs, unpaired = [], []
    for subject, paths in sorted(by_subject.items()):
        if source in paths and target in paths:
            pairs.append(
                Pair(name, f"{name}:{subject}", source, target, paths[source], paths[target])
            )
        elif source in paths:
            unpaired.append(f"{paths[source]} (missing target: {subject}_{target}.*)")
        elif target in paths:
            unpaired.append(f"{paths[target]} (missing input: {subject}_{source}.*)")
    if not pairs:
        present = sorted({e for paths in by_subject.values() for e in paths})
        raise DatasetError(
            f"no {source} -> {target} pairs in {folder}; expressions present: {', '.join(present)}"
        )
    if unpaired:
        raise DatasetError(f"unpaired images in {folder}:{_listing(unpaired)}")
    return pairs


def _folder(path: Path, source: str, target: str) -> list[Pair]:
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DatasetError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise DatasetError(f"not a folder: {folder}")
    name = folder.resolve().name
    if (folder / "input").is_dir() or (folder / "target").is_dir():
        return _paired_layout(folder, name, source, target)
    return _flat_layout(folder, name, source, target)


_READERS = {"london": _london, "ckplus": _ckplus, "taiwanese": _taiwanese}

DatasetSpec = str | os.PathLike[str]


def _one(dataset: DatasetSpec, source: str, target: str, root) -> list[Pair]:
    if isinstance(dataset, str):
        key = _DATASET_ALIASES.get(dataset.lower(), dataset.lower())
        if key in _READERS:
            return _READERS[key](dataset_dir(key, root), source, target)
    return _folder(Path(dataset), source, target)


def find_pairs(
    dataset: DatasetSpec | Sequence[DatasetSpec],
    source: str = "neutral",
    target: str = "happy",
    root: str | os.PathLike[str] | None = None,
) -> list[Pair]:
    """List the ``source`` -> ``target`` pairs of one or several datasets.

    Parameters
    ----------
    dataset : str, path, or a list of them
        ``"london"``, ``"ckplus"``, ``"taiwanese"`` (shared datasets under ``root``), or the
        path of a folder in the generic layout (``input/`` + ``target/``, or flat
        ``<subject>_<expression>.<ext>`` files). A list combines datasets; their names
        (the folder name for a user's folder) must differ.
    source, target : str
        Expression labels, any name :func:`normalise_expression` accepts.
    root : path, optional
        The shared data folder (default :func:`pixelfes.config.data_root`) or the named
        dataset's own folder.

    Returns
    -------
    list of Pair
        Sorted by dataset order, then subject.

    Raises
    ------
    DatasetError
        Unknown labels or datasets, a missing or empty folder, unpaired files, or an
        expression the dataset does not have.
    """
    source, target = _expressions(source, target)
    if isinstance(dataset, str | os.PathLike):
        return _one(dataset, source, target, root)
    datasets = list(dataset)
    if not datasets:
        raise DatasetError("no dataset given")
    pairs: list[Pair] = []
    owner: dict[str, DatasetSpec] = {}
    for spec in datasets:
        found = _one(spec, source, target, root)
        for name in {p.dataset for p in found}:
            if name in owner:
                raise DatasetError(
                    f"datasets {owner[name]!s} and {spec!s} share the name {name!r}, so their "
                    f"subject ids could collide; rename one folder"
                )
            owner[name] = spec
        pairs.extend(found)
    return pairs
