"""Channels: apprise URLs, each known to the archive only by an id and a masked display form.

The URL (which may hold a password or token) lives only in the configuration, the environment or
the command line; the archive stores ``id`` (a hash of the URL) and ``display`` (apprise's own
privacy form, secrets replaced by ``****``).
"""

import hashlib
from dataclasses import dataclass

from notify.errors import ChannelError
from storage.outbox import DEFAULT_KINDS, OPERATOR_KINDS, Subscription


@dataclass(frozen=True)
class Channel:
    url: str
    id: str
    display: str
    kinds: frozenset[str] = DEFAULT_KINDS

    def __repr__(self) -> str:  # never print the URL, even in a traceback
        return f"Channel({self.display!r})"

    @property
    def subscription(self) -> Subscription:
        return Subscription(self.id, self.display, self.kinds)


def channel_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def channel(url: str, kinds=DEFAULT_KINDS) -> Channel:
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if not plugin:
        scheme = url.split("://", 1)[0] if "://" in url else url[:12]
        raise ChannelError(f"not a usable apprise notification URL (scheme {scheme!r}); see https://appriseit.com")
    display = plugin.url(privacy=True).split("?", 1)[0]
    return Channel(url, channel_id(url), display, frozenset(kinds))


def channels(urls, kinds=DEFAULT_KINDS) -> tuple[Channel, ...]:
    """Channels for these URLs, each once, in order."""
    unique = list(dict.fromkeys(u.strip() for u in urls if u.strip()))
    return tuple(channel(url, kinds) for url in unique)


def operator_channels(urls) -> tuple[Channel, ...]:
    return channels(urls, frozenset(OPERATOR_KINDS))


def from_config(config, target, extra_urls=(), kinds=None) -> tuple[tuple[Channel, ...], tuple[Channel, ...]]:
    """(publication channels, operator channels) for a target of a ``copswatch.config.Config``.

    Publication channels: the target's ``notify`` (or ``$COPSWATCH_NOTIFY``) and ``extra_urls``
    (``run --notify``), wanting ``kinds`` or else the target's or the top-level ``alert_on``.
    """
    kinds = kinds or target.alert_on or config.alert_on
    return (channels([*target.notify, *extra_urls], frozenset(kinds)),
            operator_channels(config.operator_notify))
