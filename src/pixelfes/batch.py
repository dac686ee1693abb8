"""Edit many photos and videos: plan where each output goes, then run, summarising failures.

Inputs are never overwritten unless asked, nor existing outputs unless asked; two inputs
never share an output; every output is written atomically, so an interrupted run leaves
either the old file or the new one, never half of one. Any failure of one file (whatever
it raises, even a crashed worker) is recorded and the batch goes on. Worker processes die
with the parent, and a signal removes the temporary files before a process exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from pixelfes.atomic import TEMP_PREFIX, check_name_length, remove_temporaries
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


#: Runs jobs somewhere else: ``backend(jobs, work)`` yields ``(job, error or None)``.
Backend = Callable[[list[Job], Callable[[Job], None]], Iterator[tuple[Job, str | None]]]


def plan_jobs(
    inputs: Iterable[str | Path],
    output: str | Path | None,
    tag: str,
    *,
    in_place: bool = False,
    overwrite: bool = False,
    output_suffix: Callable[[Path], str] | None = None,
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
        Overwrite the inputs themselves (only when asked). A symbolic link's target is
        edited (the link stays a link); an input reached twice is edited once.
    overwrite : bool
        Replace outputs that exist already; without it they are refused.
    output_suffix : callable, optional
        Suffix of a default-named output for a given input (default: the input's own).

    Two inputs that would share an output name (``a/x.jpg`` and ``b/x.jpg`` into one
    folder) get unique names: the later ones end ``_2``, ``_3``...

    Returns
    -------
    list of Job

    Raises
    ------
    FileNotFoundError
        When an input does not exist.
    ValueError
        When an output would overwrite an input or an existing file (without
        ``overwrite``), an output name is too long, or no input file is found.
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
                target = _link_target(file) if in_place else base / file.relative_to(path)
                jobs.append(Job(file, target))
        elif in_place:
            jobs.append(Job(path, _link_target(path)))
        elif out is not None and single_file and not _is_dir(out):
            jobs.append(Job(path, out))
        else:
            folder = out if out is not None else path.parent
            suffix = output_suffix(path) if output_suffix is not None else path.suffix
            jobs.append(Job(path, folder / f"{path.stem}_{tag}{suffix}"))
    if not jobs:
        raise ValueError("no image or video files found in the inputs")
    if in_place:
        return _once_per_target(jobs)
    jobs = _unique_targets(jobs)
    _refuse_overwriting_inputs(jobs)
    for job in jobs:
        try:
            check_name_length(job.target)
        except OSError as error:
            raise ValueError(f"{job.target}: {error.strerror}") from None
    if not overwrite:
        _refuse_replacing_outputs(jobs)
    return jobs


def run_jobs(
    jobs: list[Job],
    work: Callable[[Job], None],
    *,
    n_jobs: int = 1,
    progress: Callable[[Iterable[tuple[Job, str | None]], int], Iterator] | None = None,
    backend: Backend | None = None,
) -> Summary:
    """Run ``work`` on every job, in worker processes when ``n_jobs > 1``.

    A failing job is recorded with its reason and the batch goes on, whatever it raised
    (a worker that dies is recorded as such). ``work`` must be a picklable top-level
    function when ``n_jobs > 1``. On an interruption the workers are terminated.
    ``backend(jobs, work)``, when given, runs the jobs elsewhere (e.g.
    :func:`pixelfes.cluster.map_jobs` on a Dask cluster) and yields ``(job, error or
    None)`` in job order.
    """
    summary = Summary()
    results = backend(jobs, work) if backend is not None else _results(jobs, work, n_jobs)
    if progress is not None:
        results = progress(results, len(jobs))
    for job, error in results:
        if error is None:
            summary.written.append(job.target)
        else:
            summary.failed.append((job.source, error))
    return summary


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (as Ctrl+C does) in the main
    thread, so ``finally`` blocks run: temporary files are removed, workers terminated."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _results(
    jobs: list[Job], work: Callable[[Job], None], n_jobs: int
) -> Iterator[tuple[Job, str | None]]:
    if n_jobs <= 1 or len(jobs) == 1:
        for job in jobs:
            yield job, _attempt(work, job)
        return
    # A worker that dies breaks the whole pool and fails every job still queued on it:
    # those jobs run again, each in a pool of its own, so only the culprit is blamed.
    unfinished = []
    for job, outcome in _pooled(jobs, work, min(n_jobs, len(jobs))):
        if isinstance(outcome, BrokenProcessPool):
            unfinished.append(job)
        else:
            yield job, outcome
    for job in unfinished:
        for _, outcome in _pooled([job], work, 1):
            yield job, _died(outcome) if isinstance(outcome, BaseException) else outcome


def _pooled(
    jobs: list[Job], work: Callable[[Job], None], n_workers: int
) -> Iterator[tuple[Job, str | None | BrokenProcessPool]]:
    """Run ``jobs`` on worker processes; a dead worker's jobs give BrokenProcessPool."""
    context = _start_context()
    lifeline, held = context.Pipe(duplex=False)
    pool = ProcessPoolExecutor(
        max_workers=n_workers, mp_context=context, initializer=_worker_init, initargs=(lifeline,)
    )
    try:
        futures = [pool.submit(_attempt, work, job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            yield job, _outcome(future)
    except BaseException:
        _terminate(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        held.close()
        lifeline.close()


def _outcome(future: Future) -> str | None | BrokenProcessPool:
    try:
        return future.result()
    except BrokenProcessPool as error:
        return error
    except Exception as error:  # e.g. the job could not be sent to the worker
        return _died(error)


def _died(error: BaseException) -> str:
    return f"worker process died ({type(error).__name__}: {error})"


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now; their signal handler removes their temporary files."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


def _start_context() -> multiprocessing.context.BaseContext:
    """Workers start from a fresh fork server where there is one: a plain fork of a process
    that already runs threads (PyTorch, Dask, a BLAS pool) can deadlock in the child."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _worker_init(lifeline: Connection) -> None:
    """Tie a worker's life to the main process and clean up on SIGTERM/SIGINT.

    Only the main process holds the write end of ``lifeline``: the worker sees the end of
    the pipe as soon as the main process is gone, however it died (even SIGKILL).
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    threading.Thread(target=_watch_parent, args=(lifeline,), daemon=True).start()


def _exit_on_signal(signum: int, frame: object) -> None:
    remove_temporaries()
    os._exit(128 + signum)


def _watch_parent(lifeline: Connection) -> None:
    """Exit once the main process is gone (its end of the pipe closes)."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    remove_temporaries()
    os._exit(1)


def _attempt(work: Callable[[Job], None], job: Job) -> str | None:
    """Run one job; return None on success or the reason it failed, whatever it raised."""
    try:
        work(job)
    except (ValueError, OSError) as error:
        return str(error) or type(error).__name__
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def _media_files(folder: Path) -> list[Path]:
    suffixes = frozenset(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in suffixes and not p.name.startswith(TEMP_PREFIX) and p.is_file()
    )


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long: not a folder; the name check reports it
        return False


def _link_target(path: Path) -> Path:
    """Where an in-place edit writes: the file a symbolic link points to, or the path."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _once_per_target(jobs: list[Job]) -> list[Job]:
    seen: set[str] = set()
    kept = []
    for job in jobs:
        key = os.path.realpath(job.target)
        if key not in seen:
            seen.add(key)
            kept.append(job)
    return kept


def _unique_targets(jobs: list[Job]) -> list[Job]:
    """Rename later outputs that would share a name (compared case-insensitively)."""
    taken = {_key(job.target) for job in jobs}
    seen: set[str] = set()
    unique = []
    for job in jobs:
        target = job.target
        if _key(target) in seen:
            n = 2
            while _key(target := job.target.with_stem(f"{job.target.stem}_{n}")) in taken:
                n += 1
            taken.add(_key(target))
        seen.add(_key(target))
        unique.append(Job(job.source, target))
    return unique


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path)).casefold()


def _refuse_overwriting_inputs(jobs: list[Job]) -> None:
    inputs = {os.path.realpath(job.source) for job in jobs}
    for job in jobs:
        if os.path.realpath(job.target) in inputs:
            raise ValueError(
                f"output {job.target} would overwrite an input; choose another -o "
                "or pass --in-place to overwrite inputs on purpose"
            )


def _refuse_replacing_outputs(jobs: list[Job]) -> None:
    existing = [job.target for job in jobs if os.path.lexists(job.target)]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ValueError(
            f"output {existing[0]}{more} exists already; pass --overwrite to replace, "
            "or choose another -o"
        )
