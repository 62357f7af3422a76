"""Private temporary files of an ingest batch, so that no raw identifier is left behind.

Input files hold raw phone numbers, ID-card numbers and IMEIs until ingest has hashed them, so
whatever ingest writes to disk before that holds them too:

- a batch works in its own folder under the system's temporary folder, readable by its owner only
  (``churnradar-ingest-<pid>-<random>``), removed when the batch ends, however it ends;
- UTF-8 copies of CSV files (transcoded from GBK/GB18030 or UTF-16, or with unreadable lines left
  out) are unlinked the moment they are created and read through ``/proc/self/fd/N``: they have no
  name, so even a process killed with SIGKILL leaves none (the kernel frees them);
- DuckDB may spill temporary tables to that folder on large batches; a folder whose process no
  longer runs is removed by the next ingest (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("churnradar.ingest")

PREFIX = "churnradar-ingest-"
#: folders of earlier versions carry no process id: removed once they are this old (seconds)
_UNOWNED_AGE = 3600.0
_PROC_FD = Path("/proc/self/fd")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(root: str | Path | None = None) -> list[Path]:
    """Remove the working folders of ingest runs that no longer run (killed, or the machine stopped);
    returns the folders removed."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.glob(PREFIX + "*"))
    except OSError:
        return removed
    for d in entries:
        if not d.is_dir() or d.is_symlink():
            continue
        pid_text = d.name[len(PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit():
            stale = int(pid_text) != os.getpid() and not _alive(int(pid_text))
        else:
            try:
                stale = time.time() - d.stat().st_mtime > _UNOWNED_AGE
            except OSError:
                continue
        if stale:
            shutil.rmtree(d, ignore_errors=True)
            if not d.exists():
                removed.append(d)
                log.info("removed the working folder of an ingest that did not finish: %s", d)
    return removed


def workdir() -> Path:
    """A new private working folder for one batch (mode 0700), after removing stale ones."""
    remove_stale()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


class AnonymousFile:
    """A temporary file without a name: ``path`` opens it (``/proc/self/fd/N``) while this object
    lives; closing it frees the space. Where ``/proc`` is missing, a named file in ``folder`` is used
    and removed on close."""

    def __init__(self, folder: Path, suffix: str = ".csv"):
        fd, name = tempfile.mkstemp(dir=folder, suffix=suffix)
        self._name: Path | None = Path(name)
        self.path = self._name
        if _PROC_FD.is_dir():
            os.unlink(name)
            self._name = None
            self.path = _PROC_FD / str(fd)
        self.file: BinaryIO = os.fdopen(fd, "w+b")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        if self._name is not None:
            with contextlib.suppress(OSError):
                self._name.unlink()

    def __enter__(self) -> AnonymousFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
