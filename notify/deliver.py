"""Deliver the outbox's pending rows through apprise, after the check's transaction has committed.

Each row is marked sent right after its channel accepted the message, in its own transaction; a
failure leaves it pending with the error and one more attempt, to be retried on the next run or by
`copswatch alerts retry`. Rows are claimed for ten minutes before sending, so two processes delivering
at once do not both send them. At least once: a crash between a channel's acceptance and the mark
(a few milliseconds) can send a message twice on the next delivery; nothing can lose one.
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from notify import messages
from notify.channels import Channel
from storage import outbox


@dataclass(frozen=True)
class Attempt:
    channel: str  # masked display form
    delivery_ids: tuple[int, ...]
    error: str | None  # None: delivered


def deliver_pending(archive, channels) -> list[Attempt]:
    """Send every pending delivery whose channel is among ``channels``; rows of other channels wait."""
    by_id = {c.id: c for c in channels}
    if not by_id:
        return []
    batches: dict[tuple, list] = {}
    for d in outbox.deliveries(archive, pending_only=True, channel_ids=by_id):
        key = (d.channel_id, d.target, "publications") if d.event else (d.channel_id, d.id, d.kind)
        batches.setdefault(key, []).append(d)
    attempts = []
    for (channel_id, *_), batch in batches.items():
        claimed = set(outbox.claim(archive, [d.id for d in batch]))
        batch = [d for d in batch if d.id in claimed]  # another deliverer has the rest in hand
        if not batch:
            continue
        if batch[0].event:
            message = messages.publications(batch[0].target, [d.event for d in batch])
        else:
            message = messages.operator(batch[0])
        ids = tuple(d.id for d in batch)
        error = send(by_id[channel_id], message)
        if error is None:
            outbox.mark_sent(archive, ids)
        else:
            outbox.mark_failed(archive, ids, error)
        attempts.append(Attempt(by_id[channel_id].display, ids, error))
    return attempts


def send(channel: Channel, message: messages.Message) -> str | None:
    """Send one message; None when the channel accepted it, else why not (secrets masked)."""
    import apprise

    app = apprise.Apprise()
    app.add(channel.url)
    formats = app[0].notify_format
    preferred = formats[0] if isinstance(formats, tuple) else formats
    as_html = preferred == apprise.NotifyFormat.HTML
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as log:
        try:
            ok = app.notify(
                title=message.title, body=message.html if as_html else message.text,
                body_format=apprise.NotifyFormat.HTML if as_html else apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # a plugin's own bug must not stop the other channels' deliveries
            return _mask(channel, f"{type(exc).__name__}: {exc}")
        logged = log.getvalue()
    if ok:
        return None
    lines = [line.strip() for line in logged.splitlines() if line.strip()]
    return _mask(channel, " / ".join(lines[-2:]) or "the channel did not accept the message")


def _mask(channel: Channel, text: str) -> str:
    secrets = [channel.url]
    parts = urlsplit(channel.url)
    if parts.password:
        secrets += [parts.password, unquote(parts.password)]
    for secret in secrets:
        if len(secret) >= 3:
            text = text.replace(secret, "****")
    return text
