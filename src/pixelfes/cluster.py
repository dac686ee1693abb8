"""Dask as the engine past one machine: connect, reduce over partitions, run batch jobs.

Everything here is a thin adapter: plain functions are mapped over partitions of a
``dask.bag`` and their additive results reduced by the scheduler's tree reduction; batch
jobs are submitted as futures. Retries after a lost worker are Dask's. Needs the
``cluster`` extra (``pip install "pixelfes[cluster]"``); see docs/cluster.md.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pixelfes.batch import Job, Summary, _attempt, run_jobs

#: ``cluster="local"`` starts an in-process LocalCluster with one single-threaded worker
#: process per CPU core.
LOCAL = "local"

_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            'cluster runs need Dask: pip install "pixelfes[cluster]" (dask[distributed])'
        ) from None
    return distributed


def check_cluster(cluster: object) -> None:
    """Refuse a cluster spec that is neither ``"local"``, a scheduler address nor a Client."""
    if isinstance(cluster, str):
        if cluster != LOCAL and not cluster.startswith(_SCHEMES):
            raise ValueError(
                f"cluster must be 'local' or a scheduler address such as "
                f"tcp://HOST:8786; got {cluster!r}"
            )
        return
    if not isinstance(cluster, _distributed().Client):
        raise TypeError(f"cluster must be a string or a distributed.Client, not {cluster!r}")


@contextlib.contextmanager
def connect(cluster: Any, *, n_workers: int | None = None) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for ``cluster``.

    Parameters
    ----------
    cluster : "local", scheduler address or distributed.Client
        ``"local"`` starts (and at the end stops) an in-process ``LocalCluster`` of
        ``n_workers`` single-threaded worker processes (default: one per CPU core); an
        address such as ``tcp://HOST:8786`` connects to a running scheduler; a Client is
        used as it is and left open.
    """
    check_cluster(cluster)
    distributed = _distributed()
    if not isinstance(cluster, str):
        yield cluster
        return
    if cluster == LOCAL:
        workers = n_workers or os.cpu_count() or 1
        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=":0"
            ) as local,
            distributed.Client(local) as client,
        ):
            yield client
        return
    try:
        client = distributed.Client(cluster, timeout="30s")
    except OSError as error:
        raise OSError(f"cannot reach the Dask scheduler at {cluster}: {error}") from None
    with client:
        yield client


def map_reduce(
    client: Any,
    items: Sequence[Any],
    perpartition: Callable[[Iterable[Any]], Any],
    aggregate: Callable[[list[Any]], Any],
    *,
    partition_size: int,
) -> Any:
    """``aggregate`` of ``perpartition`` over partitions of ``items``, on the cluster.

    ``perpartition`` must be a plain picklable function of one partition's items and
    ``aggregate`` a reduction of additive results (Dask applies it as a tree).
    """
    import dask.bag

    bag = dask.bag.from_sequence(list(items), partition_size=max(1, partition_size))
    return client.compute(bag.reduction(perpartition, aggregate, split_every=8)).result()


def map_jobs(
    client: Any, jobs: Sequence[Job], work: Callable[[Job], None]
) -> Iterator[tuple[Job, str | None]]:
    """Run ``work`` on every job on the workers; yield ``(job, error or None)`` in order.

    ``work`` (with the model it carries) is one task that every job depends on, so each
    worker fetches it once, and, unlike scattered data, the scheduler can recompute it if
    every worker holding it dies. Each job is one task with the same failure containment
    as a local run. A job whose worker dies is retried by the scheduler; one that still
    cannot finish is reported as failed. Results are released as soon as they arrive, and
    a job whose output this run already wrote (Dask runs a task again when a worker dies
    around its end) is not written again: outputs newer than the start of the run are
    kept, which assumes the clocks of the machines and the file server agree (NTP).
    """
    distributed = _distributed()
    if not jobs:
        return
    shared_work = client.submit(_itself, work, pure=False)
    started_ns = time.time_ns()
    futures = client.map(
        _attempt_once, [shared_work] * len(jobs), list(jobs), started_ns=started_ns, pure=False
    )
    position = {future.key: index for index, future in enumerate(futures)}
    done: dict[int, str | None] = {}
    next_index = 0
    for future in distributed.as_completed(futures):
        done[position[future.key]] = _outcome(future)
        future.release()
        while next_index in done:
            yield jobs[next_index], done.pop(next_index)
            next_index += 1


def run_jobs_on(
    cluster: Any,
    jobs: list[Job],
    work: Callable[[Job], None],
    *,
    progress: Callable[[Iterable[tuple[Job, str | None]], int], Iterator] | None = None,
) -> Summary:
    """:func:`pixelfes.batch.run_jobs` with the jobs run on ``cluster`` (see :func:`connect`).

    The summary is the one a local run gives: files written and failures, in job order.
    """
    with connect(cluster) as client:
        return run_jobs(jobs, work, progress=progress, backend=functools.partial(map_jobs, client))


def _attempt_once(work: Callable[[Job], None], job: Job, started_ns: int) -> str | None:
    """:func:`pixelfes.batch._attempt`, unless this run already wrote the job's output."""
    try:
        if job.target.stat().st_mtime_ns >= started_ns:
            return None
    except OSError:
        pass
    return _attempt(work, job)


def _itself(value: Any) -> Any:
    return value


def _outcome(future: Any) -> str | None:
    try:
        return future.result()
    except Exception as error:  # a lost worker, a cancelled task: the job failed
        return f"{type(error).__name__}: {error}"
