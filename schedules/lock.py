"""One writer per archive: an exclusive ``flock`` on ``<archive>.lock``, next to the SQLite file.

`copswatch run` (cron, systemd timers) and `copswatch schedule` (the daemon) both take it for the
whole of a check, so two checks of the same archive never overlap, whoever started them. The lock
belongs to the open file, so the kernel releases it when the process exits, however it exits: a
stale lock file is harmless and is never deleted (deleting it would let two processes hold
"the" lock on two different files).
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from copswatch.errors import CopswatchError


class ArchiveBusy(CopswatchError):
    """Another process holds the archive's lock."""

    def __init__(self, lock_path: str, holder: str):
        self.lock_path = lock_path
        super().__init__(f"archive is busy: another copswatch check ({holder}) holds {lock_path}; nothing written")


def lock_path(db_path: str) -> str:
    return os.path.abspath(db_path) + ".lock"


@contextmanager
def archive_lock(db_path: str) -> Iterator[None]:
    """Hold the archive's lock for the block; raise ArchiveBusy at once if another process has it.

    OSError (e.g. the archive's directory does not exist) propagates to the caller.
    """
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            raise ArchiveBusy(path, f"pid {holder}" if holder.isdigit() else "unknown process") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # for the message above, and for people
        yield
    finally:
        os.close(fd)
