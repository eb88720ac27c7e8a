"""Notification errors::

    CopswatchError
    ├── ChannelError   a channel URL apprise cannot use
    └── FeedError      the Atom feed file cannot be written
"""

from copswatch.errors import CopswatchError


class ChannelError(CopswatchError):
    """A notification URL that is not usable. The message shows the URL masked, never its secrets."""


class FeedError(CopswatchError):
    """The feed file could not be written; the archive and the outbox are untouched by it."""
