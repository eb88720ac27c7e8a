"""Errors raised while fetching or parsing a page (see copswatch.errors for the tree)."""

from copswatch.errors import CopswatchError


class FetchError(CopswatchError):
    """The page could not be fetched."""

    def __init__(self, url: str, message: str, *, status: int | None = None):
        super().__init__(f"{message} ({url})")
        self.url = url
        self.reason = message
        self.status = status


class HTTPStatusError(FetchError):
    pass


class TooLarge(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class ParseError(CopswatchError):
    def __init__(self, url: str, message: str):
        super().__init__(f"{message} ({url})")
        self.url = url
        self.reason = message
