"""Publication-level diff between two versions of a page, as plain values.

A publication is matched across versions by its key. Between two versions it can be:
added (never listed before), reappeared (listed before, then gone), removed, modified (title or
description changed), moved (URL changed, same key). Order changes are reported in ``reordered``
but are not a publication change. ``text_diff`` is a unified diff of the content's text.
"""

from dataclasses import asdict, dataclass

FIELDS = ("title", "url", "description")


@dataclass(frozen=True)
class Listed:
    """One publication as a version lists it."""

    key: str
    title: str
    url: str
    description: str
    position: int

    def public(self) -> dict:
        return {"key": self.key, "title": self.title, "url": self.url, "description": self.description}


@dataclass(frozen=True)
class Modified:
    before: Listed
    after: Listed
    fields: tuple[str, ...]  # which of FIELDS changed

    def public(self) -> dict:
        return {
            **self.after.public(),
            "fields": list(self.fields),
            "changes": {f: {"before": getattr(self.before, f), "after": getattr(self.after, f)} for f in self.fields},
        }


@dataclass(frozen=True)
class Reordered:
    key: str
    title: str
    old_position: int
    new_position: int


@dataclass(frozen=True)
class Changes:
    added: tuple[Listed, ...] = ()
    reappeared: tuple[Listed, ...] = ()
    removed: tuple[Listed, ...] = ()
    modified: tuple[Modified, ...] = ()  # any field change, URL included
    moved: tuple[Modified, ...] = ()  # the subset whose URL changed
    reordered: tuple[Reordered, ...] = ()
    text_diff: str = ""

    @property
    def publication_changes(self) -> int:
        return len(self.added) + len(self.reappeared) + len(self.removed) + len(self.modified)

    def summary(self) -> str:
        parts = [
            f"{len(items)} {label}"
            for items, label in (
                (self.added, "added"),
                (self.reappeared, "reappeared"),
                (self.removed, "removed"),
                (self.modified, "modified"),
            )
            if items
        ]
        if self.reordered:
            parts.append("order changed")
        return ", ".join(parts) or ("text changed" if self.text_diff else "no publication changes")

    def public(self) -> dict:
        return {
            "added": [p.public() for p in self.added],
            "reappeared": [p.public() for p in self.reappeared],
            "removed": [p.public() for p in self.removed],
            "modified": [m.public() for m in self.modified],
            "moved": [m.public() for m in self.moved],
            "reordered": [asdict(r) for r in self.reordered],
            "text_diff": self.text_diff,
        }


def diff(
    old: list[Listed],
    new: list[Listed],
    *,
    old_text: str = "",
    new_text: str = "",
    seen_before: frozenset[str] = frozenset(),
    labels: tuple[str, str] = ("before", "after"),
) -> Changes:
    """Compare two listings. ``seen_before``: keys listed at some point before ``old`` was current."""
    old_by_key = {p.key: p for p in old}
    new_by_key = {p.key: p for p in new}
    appeared = [p for p in new if p.key not in old_by_key]
    modified = []
    for p in new:
        before = old_by_key.get(p.key)
        if before is None:
            continue
        fields = tuple(f for f in FIELDS if getattr(before, f) != getattr(p, f))
        if fields:
            modified.append(Modified(before=before, after=p, fields=fields))
    return Changes(
        added=tuple(p for p in appeared if p.key not in seen_before),
        reappeared=tuple(p for p in appeared if p.key in seen_before),
        removed=tuple(p for p in old if p.key not in new_by_key),
        modified=tuple(modified),
        moved=tuple(m for m in modified if "url" in m.fields),
        reordered=_reordered(old, new),
        text_diff=text_diff(old_text, new_text, labels),
    )


def _reordered(old: list[Listed], new: list[Listed]) -> tuple[Reordered, ...]:
    """Publications listed in both whose relative order changed (additions alone are no reorder)."""
    common = set(p.key for p in old) & set(p.key for p in new)
    old_rank = {key: i for i, key in enumerate(p.key for p in old if p.key in common)}
    new_rank = {key: i for i, key in enumerate(p.key for p in new if p.key in common)}
    if old_rank == new_rank:
        return ()
    old_pos = {p.key: p.position for p in old}
    return tuple(
        Reordered(key=p.key, title=p.title, old_position=old_pos[p.key], new_position=p.position)
        for p in new
        if p.key in common and old_rank[p.key] != new_rank[p.key]
    )


def text_diff(old_text: str, new_text: str, labels: tuple[str, str] = ("before", "after")) -> str:
    import difflib  # only a changed version needs it

    lines = difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), fromfile=labels[0], tofile=labels[1], lineterm=""
    )
    return "\n".join(lines)
