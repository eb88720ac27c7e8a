"""An Atom feed (RFC 4287) of publication events, built with feedgen.

One entry per event, its id a tag URI (RFC 4151) from the target, the check that recorded the event,
its kind and the publication key, so an entry keeps its id however often the feed is rewritten. Each target's baseline (its first version) is left out.
Scraped text goes into text elements or escaped HTML; feedgen (lxml) escapes it again as XML.
"""

import os
import tempfile
from datetime import UTC, datetime
from urllib.parse import quote

from notify.errors import FeedError
from notify.messages import LABELS, facts, escape, html_link
from storage.outbox import PublicationEvent

TAG = "tag:copswatch,2026:"


def entry_id(event: PublicationEvent) -> str:
    """What the event is (the check that recorded it, its kind, the publication), not a row id that
    re-deriving history could renumber."""
    return f"{TAG}{quote(event.target, safe='')}/{event.check_id}/{event.kind}/{quote(event.key, safe='')}"


def atom(events: list[PublicationEvent], *, link: str, target: str | None = None) -> bytes:
    """The feed for ``events`` (newest first)."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(f"{TAG}{target or 'all'}/feed")
    fg.title(f"copswatch: publication changes on {target or 'all targets'}")
    fg.author({"name": "copswatch"})
    fg.link(href=link, rel="alternate")
    fg.updated(_when(events[0].at) if events else datetime(2026, 1, 1, tzinfo=UTC))
    for e in events:
        entry = fg.add_entry(order="append")
        entry.id(entry_id(e))
        entry.title(f"{LABELS[e.kind]}: {e.title}")
        entry.link(href=e.url if e.url.lower().startswith(("http://", "https://")) else e.page_url)
        entry.published(_when(e.at))
        entry.updated(_when(e.at))
        body = (f"<p>{escape(e.description)}</p>" if e.description else "") + f"<p>Link: {html_link(e.url)}</p><ul>" \
            + "".join(f"<li>{escape(line)}</li>" for line in facts(e)) + "</ul>"
        entry.content(body, type="html")
    return fg.atom_str(pretty=True)


def write(path: str, data: bytes) -> None:
    """Replace the file atomically, so a feed reader never fetches half a feed."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".feed-", suffix=".xml")
    except OSError as exc:
        raise FeedError(f"cannot write the feed {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise FeedError(f"cannot write the feed {path}: {exc.strerror}") from None


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
