"""Training and batch editing on an in-process Dask LocalCluster (2 worker processes)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import threading
import time
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

distributed = pytest.importorskip("distributed", reason="needs the cluster extra (dask)")

import cloudpickle  # noqa: E402  (installed with distributed)

import synthetic_aligner  # noqa: E402
from pixelfes.atomic import atomic_open  # noqa: E402
from pixelfes.batch import Job, plan_jobs, run_jobs  # noqa: E402
from pixelfes.cli import main  # noqa: E402
from pixelfes.cluster import connect, map_jobs  # noqa: E402
from pixelfes.data import find_pairs  # noqa: E402
from pixelfes.imageio import write_image  # noqa: E402
from pixelfes.streaming import train_streaming  # noqa: E402
from synthetic_aligner import CentreCrop  # noqa: E402

# The workers unpickle the tests' helpers by value (they need not import the tests).
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(synthetic_aligner)

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def new_cluster() -> distributed.LocalCluster:
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )


@pytest.fixture(scope="module")
def client():
    with new_cluster() as cluster, distributed.Client(cluster) as client:
        yield client


# -- training ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory) -> Path:
    """30 synthetic neutral/happy pairs (one subject each); one target has no face."""
    folder = tmp_path_factory.mktemp("pairs")
    for side in ("input", "target"):
        (folder / side).mkdir()
    rng = np.random.default_rng(7)
    for subject in range(10):
        base = rng.integers(0, 200, (24, 24, 3))
        for take in range(3):
            neutral = np.clip(base + rng.integers(0, 40, base.shape), 0, 255).astype(np.uint8)
            happy = np.clip(0.8 * neutral + 30 + rng.normal(0, 8, base.shape), 0, 255)
            happy = happy.astype(np.uint8)
            if (subject, take) == (4, 1):
                happy[:] = 0
            name = f"s{subject}-{take}.png"
            write_image(folder / "input" / name, neutral)
            write_image(folder / "target" / name, happy)
    return folder


@pytest.mark.parametrize("family", ["pixel-rr", "flow-rr", "mr", "pixel-kr"])
def test_cluster_train_equals_local_train(client, pair_folder, tmp_path, family) -> None:
    pairs = find_pairs([str(pair_folder)], source="neutral", target="happy")
    options = dict(size=16, aligner=CentreCrop(), cache=tmp_path / "cache", seed=3)
    local = train_streaming(family, pairs, chunk_pairs=7, **options)
    remote = train_streaming(family, pairs, chunk_pairs=4, cluster=client, **options)
    a, b = local.report, remote.report
    probe = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_allclose(b.model.predict(probe), a.model.predict(probe), atol=1e-6)
    assert (b.n_pairs, b.n_subjects, b.n_heldout_subjects) == (29, 29, a.n_heldout_subjects)
    assert b.heldout_psnr == pytest.approx(a.heldout_psnr, abs=1e-9)
    assert b.heldout_identity_psnr == pytest.approx(a.heldout_identity_psnr, abs=1e-9)
    np.testing.assert_allclose(remote.input_mean, local.input_mean, atol=1e-7)
    assert [s.path.name for s in remote.skipped] == ["s4-1.png"]
    assert b.heldout_psnr > b.heldout_identity_psnr  # the model learnt the mapping


class SlowCentreCrop(CentreCrop):
    """CentreCrop that takes its time, so that a worker can be killed mid-partition."""

    cache_id = "test-cluster-slow-centre-crop-v1"

    def __call__(self, image: np.ndarray, size: int) -> np.ndarray | None:
        time.sleep(0.05)
        return super().__call__(image, size)


def _kill_a_busy_worker(client, after_s: float, killed: list[int]) -> None:
    time.sleep(after_s)
    busy = [worker for worker, keys in client.processing().items() if keys]
    if busy:
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)


def test_cluster_train_survives_a_killed_worker(pair_folder, tmp_path) -> None:
    pairs = find_pairs([str(pair_folder)], source="neutral", target="happy")
    options = dict(size=16, aligner=SlowCentreCrop(), cache=False, seed=3, chunk_pairs=5)
    local = train_streaming("pixel-rr", pairs, **options)
    killed: list[int] = []
    with new_cluster() as cluster, distributed.Client(cluster) as client:
        client.run(lambda: None)  # workers up before the clock starts
        killer = threading.Thread(target=_kill_a_busy_worker, args=(client, 0.6, killed))
        killer.start()
        remote = train_streaming("pixel-rr", pairs, cluster=client, **options)
        killer.join()
    assert killed, "no worker was killed: the test did not exercise a failure"
    np.testing.assert_allclose(remote.report.model.coef_, local.report.model.coef_, atol=1e-6)
    assert remote.report.n_pairs == local.report.n_pairs == 29  # no pair lost or counted twice
    assert remote.report.heldout_psnr == pytest.approx(local.report.heldout_psnr, abs=1e-9)


# -- batch editing ----------------------------------------------------------------------


@pytest.fixture()
def album(tmp_path) -> Path:
    """Good photos (two with the same name in different folders), a broken file, no face."""
    folder = tmp_path / "album"
    for name in ("a/portrait.jpg", "b/portrait.jpg", "portrait.png"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PORTRAIT, folder / name)
    (folder / "broken.jpg").write_bytes(b"this is not a jpeg")
    ramp = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))
    write_image(folder / "b" / "gradient.png", np.dstack([ramp] * 3))
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_cluster_edit_equals_the_local_run_file_for_file(client, album, tmp_path) -> None:
    def run(*extra: object) -> tuple[int, str, dict[str, bytes]]:
        out = tmp_path / f"out{len(extra)}"
        args = ["edit", str(album), "--to", "sad", "-o", str(out), *map(str, extra)]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        report = re.findall(r"wrote \S+|failed [^\n]+|\d+ of \d+ edited, \d+ failed", result.output)
        return result.exit_code, "\n".join(report).replace(str(out), "OUT"), _files(out)

    local_code, local_out, local_files = run()
    code, out, files = run("--cluster", client.scheduler.address)
    assert (code, out) == (local_code, local_out) and code == 1
    assert set(files) == set(local_files) == {"a/portrait.jpg", "b/portrait.jpg", "portrait.png"}
    assert files == local_files
    assert "3 of 5 edited, 2 failed" in out and "broken.jpg" in out and "no face found" in out


def test_map_jobs_reports_unexpected_errors_as_failures(client, tmp_path) -> None:
    jobs = [Job(tmp_path / f"{i}.png", tmp_path / f"out{i}.png") for i in range(3)]
    summary = run_jobs(jobs, _explode_on_one, backend=partial(map_jobs, client))
    assert summary.written == [jobs[0].target, jobs[2].target]
    assert summary.failed == [(jobs[1].source, "RuntimeError: boom")]


def _explode_on_one(job: Job) -> None:
    if job.source.stem == "1":
        raise RuntimeError("boom")


def _slow_write(job: Job, log: Path) -> None:
    """Write the job's output atomically (slowly for "slow" files) and log the write."""
    time.sleep(4.0 if job.source.stem == "slow" else 0.05)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(job.target) as handle:
        handle.write(job.source.read_bytes())
    with open(log, "a") as handle:
        handle.write(f"{job.target.name}\n")


def _kill_the_worker_of_the_slow_task(client, log: Path, killed: list[int]) -> None:
    """Once every quick job is written, SIGKILL the worker process running the slow one."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) == 8:
            time.sleep(0.5)  # the slow task runs for 4 s
            busy = [worker for worker, keys in client.processing().items() if keys]
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


def test_a_worker_killed_mid_run_loses_nothing_and_writes_nothing_twice(tmp_path) -> None:
    sources = tmp_path / "in"
    names = [f"p{i}" for i in range(8)] + ["slow"]
    for name in names:
        (sources / f"{name}.png").parent.mkdir(exist_ok=True)
        (sources / f"{name}.png").write_bytes(name.encode() * 100)
    jobs = plan_jobs([sources], tmp_path / "out", "x")
    log = tmp_path / "writes.log"
    killed: list[int] = []
    with new_cluster() as cluster, distributed.Client(cluster) as client:
        killer = threading.Thread(
            target=_kill_the_worker_of_the_slow_task, args=(client, log, killed)
        )
        killer.start()
        summary = run_jobs(jobs, partial(_slow_write, log=log), backend=partial(map_jobs, client))
        killer.join()
    assert killed, "no worker was killed: the test did not exercise a failure"
    assert summary.failed == [] and summary.written == [job.target for job in jobs]
    for job in jobs:
        assert job.target.read_bytes() == job.source.read_bytes()
    writes = log.read_text().split()
    assert sorted(writes) == sorted(f"{name}.png" for name in names)  # each written once
    assert not list((tmp_path / "out").glob(".*")), "temporary files left behind"


def test_connect_refuses_a_bad_cluster_spec() -> None:
    with pytest.raises(ValueError, match="tcp://HOST:8786"), connect("my-laptop"):
        pass


def test_a_job_this_run_already_wrote_is_not_written_again(tmp_path) -> None:
    from pixelfes.cluster import _attempt_once

    job = Job(tmp_path / "in.png", tmp_path / "out.png")
    calls: list[Job] = []
    started = time.time_ns()
    job.target.write_bytes(b"old")
    os.utime(job.target, ns=(started - 10**9, started - 10**9))  # from an earlier run
    assert _attempt_once(calls.append, job, started) is None and calls == [job]
    job.target.write_bytes(b"new")  # written by this run: a retry skips it
    assert _attempt_once(calls.append, job, started) is None and calls == [job]


@pytest.mark.data
@pytest.mark.slow
def test_cli_train_on_a_cluster_equals_local_train(client, shared_data, tmp_path) -> None:
    """Real London pairs, aligned by the default aligner on the workers (cached crops)."""
    import pixelfes

    folder = tmp_path / "pairs"
    for index, path in enumerate(sorted((shared_data / "london" / "neutral").glob("*_03.jpg"))):
        if index == 12:
            break
        smile = shared_data / "london" / "smiling" / path.name.replace("_03", "_08")
        for side, source in (("input", path), ("target", smile)):
            (folder / side).mkdir(parents=True, exist_ok=True)
            shutil.copy(source, folder / side / f"person{index:02d}.jpg")
    models = []
    for extra in ([], ["--cluster", client.scheduler.address]):
        out = tmp_path / f"model{len(extra)}.npz"
        args = ["train", "--data", str(folder), "--family", "mr", "--size", "32", "-o", str(out)]
        result = CliRunner().invoke(main, [*args, "--chunk", "5", *extra])
        assert result.exit_code == 0, result.output
        assert "pairs 12, subjects 12" in result.output
        models.append(pixelfes.load_model(out))
    local, remote = models
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=0, atol=1e-6)
    assert remote.metadata_ == local.metadata_
