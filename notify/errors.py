"""Notification errors: ``CopswatchError`` → ``ChannelError`` (a channel URL apprise cannot use)."""

from copswatch.errors import CopswatchError


class ChannelError(CopswatchError):
    """A notification URL that is not usable. The message shows the URL masked, never its secrets."""
