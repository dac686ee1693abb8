"""Edit many photos and videos: plan where each output goes, then run, summarising failures.

Inputs are never overwritten unless asked; every output is written atomically, so an
interrupted run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pixelfes.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_video


@dataclass(frozen=True)
class Job:
    """One input file and where its edited version goes."""

    source: Path
    target: Path

    @property
    def is_video(self) -> bool:
        return is_video(self.source)


@dataclass
class Summary:
    """What a batch did: files written and failures with their reasons."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every input was edited, 1 when some failed."""
        return 1 if self.failed else 0


def plan_jobs(
    inputs: Iterable[str | Path],
    output: str | Path | None,
    tag: str,
    *,
    in_place: bool = False,
) -> list[Job]:
    """Decide the output path of every input file.

    Parameters
    ----------
    inputs : iterable of paths
        Files and folders; folders are searched recursively for images and videos.
    output : path, optional
        For a single input file, the output file or an existing folder; otherwise a
        folder (created) mirroring each input folder's layout. Default: beside each
        input, named ``<stem>_<tag><suffix>``; a folder ``F`` goes to ``F_<tag>``.
    tag : str
        Added to output names, e.g. the target expression.
    in_place : bool
        Overwrite the inputs themselves (only when asked).

    Returns
    -------
    list of Job

    Raises
    ------
    FileNotFoundError
        When an input does not exist.
    ValueError
        When an output would overwrite an input, or no input file is found.
    """
    sources = [Path(p) for p in inputs]
    for path in sources:
        if not path.exists():
            raise FileNotFoundError(f"input not found: {path}")
    out = Path(output) if output is not None else None
    single_file = len(sources) == 1 and sources[0].is_file()
    jobs: list[Job] = []
    for path in sources:
        if path.is_dir():
            if out is None:
                base = path.with_name(f"{path.name}_{tag}")
            else:
                base = out if len(sources) == 1 else out / path.name
            for file in _media_files(path):
                target = file if in_place else base / file.relative_to(path)
                jobs.append(Job(file, target))
        elif in_place:
            jobs.append(Job(path, path))
        elif out is not None and single_file and not out.is_dir():
            jobs.append(Job(path, out))
        else:
            folder = out if out is not None else path.parent
            jobs.append(Job(path, folder / f"{path.stem}_{tag}{path.suffix}"))
    if not jobs:
        raise ValueError("no image or video files found in the inputs")
    if not in_place:
        _refuse_overwriting_inputs(jobs)
    return jobs


def run_jobs(
    jobs: list[Job],
    work: Callable[[Job], None],
    *,
    n_jobs: int = 1,
    progress: Callable[[Iterable[tuple[Job, str | None]], int], Iterator] | None = None,
) -> Summary:
    """Run ``work`` on every job, in worker processes when ``n_jobs > 1``.

    A failing job is recorded with its reason and the batch goes on. ``work`` must be a
    picklable top-level function when ``n_jobs > 1``.
    """
    summary = Summary()
    results = _results(jobs, work, n_jobs)
    if progress is not None:
        results = progress(results, len(jobs))
    for job, error in results:
        if error is None:
            summary.written.append(job.target)
        else:
            summary.failed.append((job.source, error))
    return summary


def _results(
    jobs: list[Job], work: Callable[[Job], None], n_jobs: int
) -> Iterator[tuple[Job, str | None]]:
    if n_jobs <= 1 or len(jobs) == 1:
        for job in jobs:
            yield job, _attempt(work, job)
        return
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs))) as pool:
        yield from zip(jobs, pool.map(_attempt, [work] * len(jobs), jobs), strict=True)


def _attempt(work: Callable[[Job], None], job: Job) -> str | None:
    """Run one job; return None on success or the reason it failed."""
    try:
        work(job)
    except (ValueError, OSError) as error:
        return str(error) or type(error).__name__
    return None


def _media_files(folder: Path) -> list[Path]:
    suffixes = frozenset(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _refuse_overwriting_inputs(jobs: list[Job]) -> None:
    inputs = {os.path.realpath(job.source) for job in jobs}
    for job in jobs:
        if os.path.realpath(job.target) in inputs:
            raise ValueError(
                f"output {job.target} would overwrite an input; choose another -o "
                "or pass --in-place to overwrite inputs on purpose"
            )
