"""Progress of a long command, on a terminal or in a log.

On a terminal a bar redraws itself in place. Anywhere else (a scheduled job, a pipe into a log
file) a bar prints its label once and then nothing until the end, so a 50,000-row import looked
stuck for a minute: there, plain lines are printed instead, one each tenth of the way and at
least every `every_seconds`, each flushed at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

import typer


class ProgressLines:
    """`progress(done, total)` that prints "imported 5,000 of 50,000 rows (10%)" lines."""

    def __init__(self, stream: IO[str], *, verb: str, noun: str, every_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.stream, self.verb, self.noun = stream, verb, noun
        self.every_seconds, self.clock = every_seconds, clock
        self.last_tenth = 0
        self.last_at = clock()

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        now = self.clock()
        if tenth > self.last_tenth or now - self.last_at >= self.every_seconds or done == total:
            if done == total and self.last_tenth == 10:
                return
            self.last_tenth, self.last_at = tenth, now
            percent = done * 100 // total if total else 100
            print(f"{self.verb} {done:,} of {total:,} {self.noun} ({percent}%)",
                  file=self.stream, flush=True)


@contextmanager
def progress_to(stream: IO[str], *, label: str, verb: str, noun: str,
                from_total: int = 0) -> Iterator[Callable[[int, int], None]]:
    """A progress callback for `stream`: a bar on a terminal, plain lines anywhere else. Totals
    below `from_total` show nothing (a few rows need no progress)."""
    interactive = hasattr(stream, "isatty") and stream.isatty()
    lines = ProgressLines(stream, verb=verb, noun=noun)
    bar = None
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, shown
        if total < from_total:
            return
        if not interactive:
            lines(done, total)
            return
        if bar is None:
            bar = typer.progressbar(length=total, label=label, file=stream)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
