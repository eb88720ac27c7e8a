"""How bodies and version texts are packed: zlib alone, or a line delta against a standalone base.

Tomorrow's page shares almost every line with today's, and zlib cannot see that (its window is
32 KB, the page is ~40 KB), so a new body or text is stored as the lines it copies from a *base*
(an earlier row stored standalone) plus the lines it adds, zlib-compressed: ~0.6 KB instead of
~7.7 KB for a ~40 KB page (measured in BENCHMARKS.md). A base is always standalone, so reading any
row needs at most one other row; a delta is used only when rebuilding it gives back the exact bytes
and it is much smaller than standalone zlib, otherwise the row is stored standalone and becomes
the next base. Pure functions, no database.

Packed form of a delta: zlib( JSON list of ops, b"\\n", the added bytes ), where an op is
``[i, j]`` (copy base lines i..j-1) or ``n`` (take the next n added bytes).
"""

import json
import zlib

ZLIB = "zlib"
DELTA = "zlib-delta"  # zlib-compressed line delta against the row's base
MAX_DELTA_INPUT = 2_000_000  # line matching is superlinear; past this, standalone zlib
DELTA_WORTH_IT = 0.25  # a delta is kept only if at most this fraction of the standalone size


def pack(data: bytes, base: bytes | None) -> tuple[str, bytes]:
    """(compression, content) for ``data``: a delta against ``base`` if that pays, else zlib."""
    standalone = zlib.compress(data, 9)
    if base is None or len(data) > MAX_DELTA_INPUT or len(base) > MAX_DELTA_INPUT:
        return ZLIB, standalone
    packed = delta(data, base)
    if len(packed) > len(standalone) * DELTA_WORTH_IT or undelta(packed, base) != data:
        return ZLIB, standalone
    return DELTA, packed


def unpack(compression: str | None, content: bytes, base: bytes | None = None) -> bytes:
    if compression == ZLIB:
        return zlib.decompress(content)
    if compression == DELTA:
        if base is None:
            raise ValueError("a delta needs its base")
        return undelta(content, base)
    return content  # stored as is


def delta(data: bytes, base: bytes) -> bytes:
    import difflib  # only a new body needs it

    old, new = base.splitlines(keepends=True), data.splitlines(keepends=True)
    ops: list = []
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append([i1, i2])
        elif j2 > j1:
            chunk = b"".join(new[j1:j2])
            ops.append(len(chunk))
            added.append(chunk)
    return zlib.compress(json.dumps(ops, separators=(",", ":")).encode() + b"\n" + b"".join(added), 9)


def undelta(packed: bytes, base: bytes) -> bytes:
    header, _, added = zlib.decompress(packed).partition(b"\n")
    old = base.splitlines(keepends=True)
    out, at = [], 0
    for op in json.loads(header):
        if isinstance(op, int):
            out.append(added[at : at + op])
            at += op
        else:
            out.extend(old[op[0] : op[1]])
    return b"".join(out)
