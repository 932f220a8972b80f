"""Progress that suits where it goes: a bar on a terminal, lines in a log.

tqdm's bars redraw with carriage returns and escape codes, which garble the
log files of batch queues. :func:`progress` gives a tqdm bar when stderr is a
terminal, plain rate-limited lines through :mod:`logging` when it is not, and
nothing when the ``skgalvae`` logger is set above INFO (``--quiet``). While
the ``skgalvae`` logger has no level of its own (Python use, notebooks), it
is tqdm's automatic bar as before.
"""

from __future__ import annotations

import logging
import sys
import time

from tqdm.auto import tqdm

__all__ = ["progress"]

logger = logging.getLogger("skgalvae.progress")

#: Seconds between two lines of the same progress in a log.
LINE_INTERVAL_S = 30.0


class _LineProgress:
    """tqdm's small interface, writing a line at most every ``LINE_INTERVAL_S``."""

    def __init__(self, iterable, total, desc, unit, leave):
        self.iterable, self.desc, self.unit, self.leave = iterable, desc, unit, leave
        self.total = len(iterable) if total is None and iterable is not None else total
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _line(self, final=False):
        total = f"/{self.total}" if self.total is not None else ""
        postfix = f" ({self.postfix})" if self.postfix else ""
        elapsed = time.monotonic() - self.start
        word = "done" if final else "at"
        logger.info(
            "%s: %s %d%s %s%s, %.0f s",
            self.desc.strip(), word, self.n, total, self.unit, postfix, elapsed,
        )  # fmt: skip
        self.last = time.monotonic()

    def update(self, n=1):
        self.n += n
        if time.monotonic() - self.last >= LINE_INTERVAL_S:
            self._line()

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def close(self):
        # Inner progress (leave=False) speaks only when it takes long.
        if self.leave and (self.iterable is not None or self.n):
            self._line(final=True)
        self.iterable = None
        self.n = 0


def progress(iterable=None, *, total=None, desc="", unit="it", leave=True):
    """Return a progress display for ``iterable`` (or ``total`` steps).

    Parameters
    ----------
    iterable : iterable or None, default=None
        What to iterate over; None to call ``update`` by hand.
    total : int or None, default=None
        Number of steps, when ``iterable`` has no length.
    desc, unit : str
        Label and unit of the steps.
    leave : bool, default=True
        Keep a terminal bar once done.

    Returns
    -------
    tqdm or a line writer with tqdm's ``update``, ``set_postfix_str`` and
    ``close``
    """
    level = logging.getLogger("skgalvae").level
    if level == logging.NOTSET:  # nobody chose: tqdm's automatic bar
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)
    if level > logging.INFO:
        return tqdm(iterable, total=total, disable=True)
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)
    return _LineProgress(iterable, total, desc, unit, leave)
