"""A progress bar for layers being read (shown on a terminal only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hullcheck.model import LayerInfo

if TYPE_CHECKING:  # rich.progress costs 35 ms to import: loaded when a bar is drawn
    from rich.progress import Progress, TaskID


def _bytes_bar() -> Progress:
    """A transient bar of bytes on standard error."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


class LayerBar:
    """Implements ``hullcheck.sbom.scan.Progress`` with rich; transient."""

    def __init__(self) -> None:
        self._progress = _bytes_bar()
        self._task: TaskID | None = None
        self._started = False

    def layer_started(self, layer: LayerInfo, total: int) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        description = f"layer {layer.index + 1}/{total} {layer.diff_id[7:19]}"
        self._task = self._progress.add_task(description, total=None)

    def layer_advanced(self, done_bytes: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done_bytes)

    def layer_finished(self, layer: LayerInfo, cached: bool) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None

    def close(self) -> None:
        if self._started:
            self._progress.stop()


class FeedBar:
    """Implements ``hullcheck.vulndb.feeds.Progress``: one bar per feed download."""

    def __init__(self) -> None:
        self._progress = _bytes_bar()
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def __call__(self, ecosystem: str, done: int, total: int | None) -> None:
        if ecosystem not in self._tasks:
            self._tasks[ecosystem] = self._progress.add_task(f"{ecosystem} all.zip", total=total)
        self._progress.update(self._tasks[ecosystem], completed=done, total=total)

    def close(self) -> None:
        self._progress.stop()
