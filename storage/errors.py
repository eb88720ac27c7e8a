"""Errors raised by the archive (see copswatch.errors for the tree)."""

from copswatch.errors import CopswatchError


class ArchiveError(CopswatchError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{message} ({path})")
        self.path = path


class NotFound(ArchiveError):
    pass
