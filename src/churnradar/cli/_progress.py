"""A Rich progress bar the library reports into through a plain callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from churnradar.cli._app import err_console


class ProgressCallback:
    """Callable passed to library functions as ``progress(task, done, total)``.

    ``task`` names the unit of work (a file, a month); ``done`` and ``total`` are counts. A new task
    name starts a new bar; ``total`` may be None when unknown.
    """

    def __init__(self, progress: Progress | None):
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def __call__(self, task: str, done: float, total: float | None = None) -> None:
        if self._progress is None:
            return
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(task, total=total)
        self._progress.update(self._tasks[task], completed=done, total=total)


@contextmanager
def progress_bar(disable: bool = False) -> Iterator[ProgressCallback]:
    if disable:
        yield ProgressCallback(None)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        yield ProgressCallback(progress)
