"""One writer per output: an exclusive lock file beside it, naming its holder."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time

from filelock import FileLock, Timeout

from ..exceptions import OutputLockedError

__all__ = ["exclusive_writer"]


def _holder_path(lock_path):
    return lock_path + ".holder"


def _describe_holder(lock_path):
    try:
        with open(_holder_path(lock_path)) as handle:
            holder = json.load(handle)
    except (OSError, ValueError):
        return "another process (its details are not readable)"
    return (
        f"process {holder['pid']} on {holder['host']}, started "
        f"{holder['started']} ({holder['command']})"
    )


@contextlib.contextmanager
def exclusive_writer(output: str, mixing: str = "their rows"):
    """Hold the exclusive writer lock of ``output`` for the block.

    The lock is ``<output>.lock`` (an operating-system file lock, released
    when the process ends, even when it is killed), with a description of
    the holder in ``<output>.lock.holder``; both are removed when the block
    ends (a killed process leaves them, and the next run takes them over).

    Parameters
    ----------
    output : str
        The path of the store (or directory) being written.
    mixing : str, default="their rows"
        What two writers would mix, for the message.

    Raises
    ------
    OutputLockedError
        At once, if another process or thread holds the lock.
    """
    lock_path = os.fspath(output).rstrip("/\\") + ".lock"
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputLockedError(
            f"{output} is being written by {_describe_holder(lock_path)}. Two runs "
            f"writing one output would mix {mixing}: wait for that run to end, "
            f"or write to another output."
        ) from None
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(sys.argv) or sys.executable,
    }
    try:
        with open(_holder_path(lock_path), "w") as handle:
            json.dump(holder, handle)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(_holder_path(lock_path))
        # Removed while still held, so a clean run leaves nothing beside its
        # output. filelock (>= 3.24) discards a lock taken on a removed file
        # and retries, so a process that opened it meanwhile cannot hold it.
        # Windows cannot remove an open file: it stays there, harmless.
        with contextlib.suppress(OSError):
            os.remove(lock_path)
        lock.release()
