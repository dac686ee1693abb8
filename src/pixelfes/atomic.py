"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: Every temporary file starts with this; folder scans skip such names.
TEMP_PREFIX = ".pixelfes-"
TEMP_SUFFIX = ".tmp"
#: Temporary files being written by this process (removed by a signal handler on exit).
_LIVE: set[Path] = set()


def remove_temporaries() -> None:
    """Remove this process's unfinished temporary files (for signal handlers)."""
    for tmp in list(_LIVE):
        with contextlib.suppress(OSError):
            tmp.unlink()


def check_name_length(path: str | os.PathLike[str]) -> None:
    """Refuse an output whose file name is longer than its folder's file system allows.

    Raises
    ------
    OSError
        ``ENAMETOOLONG``, with a message giving both lengths.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    limit = _name_max(directory)
    size = len(os.fsencode(path.name))
    if size > limit:
        raise OSError(
            errno.ENAMETOOLONG,
            f"output name is {size} bytes long, the file system allows {limit}; "
            "choose a shorter name with -o",
            str(path),
        )


def _name_max(directory: Path) -> int:
    for folder in (directory, *directory.parents):
        try:
            return int(os.pathconf(folder, "PC_NAME_MAX"))
        except (OSError, ValueError):
            continue
    return 255


def temporary_name(suffix: str = "") -> str:
    """A short hidden name no image or video reader picks up (unless ``suffix`` says so)."""
    return f"{TEMP_PREFIX}{secrets.token_hex(4)}{TEMP_SUFFIX}{suffix}"


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    keep_suffix: bool = False,
    like: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary file is named ``.pixelfes-XXXXXXXX.tmp``: short whatever the length of
    ``path``'s name, hidden, and with no image suffix, so folder scans and image readers
    skip it. ``keep_suffix`` appends ``path``'s suffix (for writers that choose the
    format by it, like video writers). The result gets the permissions a new file gets
    under the current umask, or with ``like`` the mode (and, where allowed, owner) of that
    file. On any error or interruption the temporary is removed and ``path`` is left as
    it was.

    Raises
    ------
    FileExistsError
        When ``overwrite`` is false and ``path`` exists (checked again at the rename,
        which then links without replacing).
    OSError
        When ``path``'s name is longer than the file system allows.
    """
    path = Path(path)
    check_name_length(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and overwrite is off")
    directory = path.parent if str(path.parent) else Path(".")
    tmp = directory / temporary_name(path.suffix if keep_suffix else "")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    _LIVE.add(tmp)
    try:
        yield tmp
        _copy_mode(tmp, like)
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_without_replacing(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        _LIVE.discard(tmp)


def _copy_mode(tmp: Path, like: str | os.PathLike[str] | None) -> None:
    if like is None:
        os.chmod(tmp, 0o666 & ~_umask())
        return
    info = os.stat(like)
    with contextlib.suppress(PermissionError):
        os.chown(tmp, info.st_uid, info.st_gid)
    os.chmod(tmp, info.st_mode & 0o7777)


def _link_without_replacing(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"{path} exists and overwrite is off") from None
    except OSError:  # file systems without hard links: check, then rename
        if path.exists():
            raise FileExistsError(f"{path} exists and overwrite is off") from None
        os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    like: str | os.PathLike[str] | None = None,
) -> Iterator[IO[bytes]]:
    """Open a binary file for writing that appears at ``path`` only once complete.

    The data is flushed and synced to disk before the rename (see :func:`atomic_path`).
    """
    with atomic_path(path, overwrite=overwrite, like=like) as tmp, open(tmp, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
