"""Alert messages as plain text and HTML, built from outbox rows. Scraped text is escaped in HTML.

One message per channel and target carries every pending publication event (a nightly digest: the
three publications of one night are one email); each operator alert is a message of its own.
"""

import html
from dataclasses import dataclass

from storage.outbox import Delivery, PublicationEvent

LABELS = {
    "added": "New publication",
    "reappeared": "Reappeared (listed before, then removed, now back)",
    "removed": "Removed",
    "modified": "Modified",
    "moved": "Moved (its link changed)",
}
PLURALS = {"added": "new", "reappeared": "reappeared", "removed": "removed", "modified": "modified", "moved": "moved"}


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


def publications(target: str, events: list[PublicationEvent]) -> Message:
    counts = {}
    for e in events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    summary = ", ".join(f"{n} {PLURALS[kind]}" for kind, n in counts.items())
    title = f"[copswatch] {target}: {summary} publication{'s' if len(events) > 1 else ''}"
    pages = list(dict.fromkeys(e.page_url for e in events))
    text = [f"copswatch noticed {summary} on {target} ({', '.join(pages)}).", ""]
    parts = [f"<p>copswatch noticed {escape(summary)} on {escape(target)} "
             f"({', '.join(html_link(p) for p in pages)}).</p>"]
    for e in events:
        text += [f"{LABELS[e.kind]}: {e.title}", f"  Link: {e.url}"]
        if e.description:
            text.append(f"  {e.description}")
        text += [f"  {line}" for line in facts(e)]
        text.append("")
        parts.append(
            f"<h3>{escape(LABELS[e.kind])}: {escape(e.title)}</h3>\n<p>Link: {html_link(e.url)}</p>\n"
            + (f"<p>{escape(e.description)}</p>\n" if e.description else "")
            + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in facts(e)) + "</ul>"
        )
    return Message(title, "\n".join(text).rstrip() + "\n", "\n".join(parts) + "\n")


def facts(e: PublicationEvent) -> list[str]:
    facts = [f"First seen: {e.first_seen_at}", f"Recorded: {e.at}", f"Page: {e.page_url}"]
    for name, (before, after) in (e.changes or {}).items():
        facts.append(f"{name}: {before!r} → {after!r}")
    return facts


def operator(d: Delivery) -> Message:
    """An operator alert: an anomaly, a streak of failed checks, or the recovery after one."""
    if d.kind == "anomaly":
        title = f"[copswatch] {d.target}: anomaly — the page is not believable"
        text = (f"The check at {d.check_at} of {d.check_url} got a page that does not look like the listing: "
                f"{d.check_reason}. The archive keeps the current version; no publication alerts were sent.")
    elif d.kind == "failing":
        title = f"[copswatch] {d.target}: {d.streak} failed checks in a row"
        text = (f"{d.streak} checks in a row of {d.check_url} have failed; the last, at {d.check_at}: "
                f"{d.check_reason}. Nothing is being archived until a check succeeds; you will hear when it does.")
    else:
        title = f"[copswatch] {d.target}: recovered"
        text = (f"The check at {d.check_at} of {d.check_url} succeeded after {d.streak} bad checks in a row. "
                "Archiving is back to normal.")
    return Message(title, text + "\n", f"<p>{escape(text)}</p>\n")


def escape(text) -> str:
    return html.escape(str(text), quote=True)


def html_link(url: str) -> str:
    """A link shown as its own text, so the plain-text part keeps it; only http(s) becomes a link."""
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url)}">{escape(url)}</a>'
    return escape(url)
