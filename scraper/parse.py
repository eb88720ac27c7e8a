"""Parse a page's bytes into a ``Page``: title, intro, publication listing and Spotlight box.

The real markup of the page is unknown and government sites get redesigned, so nothing here
depends on a class name. The listing is found by structure:

1. Chrome is dropped: scripts, styles, comments, ``<nav>``, breadcrumbs, page-level
   ``<header>``/``<footer>``, ARIA banner/navigation/contentinfo/search regions.
2. The Spotlight box is found by its heading (or a region labelled "Spotlight"), read and removed.
3. In the main content every text link is a candidate title. Its *entry* is the largest element
   around it that holds no other candidate; its description is the entry's text after the link,
   then the entry's following siblings up to the next candidate, heading or rule.
4. Entries are grouped by their tag path from the content root; the group with the most
   described entries is the listing (several lists with the same markup merge into one).

Decoding follows the declared charset: HTTP header, then ``<meta>``, then detection
(beautifulsoup4's UnicodeDammit), with the WHATWG rule that latin-1/ascii labels mean windows-1252.
"""

import codecs
import re
from collections import defaultdict
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
from bs4.dammit import EncodingDetector, UnicodeDammit

from scraper.errors import ParseError
from scraper.model import Page, Publication, SpotlightItem

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCKS = HEADINGS | frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer header hr li "
    "main nav ol p pre section table tbody td th thead tr ul".split()
)
DROPPED_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "select")
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search"})
CHROME_TOKEN = re.compile(r"breadcrumb|^(skip-?link|sr-only|visually-hidden|element-invisible)$")
UNLINKABLE = ("#", "javascript:", "mailto:", "tel:", "data:")
WINDOWS_1252_ALIASES = frozenset({"iso-8859-1", "latin-1", "latin1", "ascii", "us-ascii", "iso8859-1", "l1"})
_HTML_PARSER = lxml.etree.HTMLParser()  # lxml.html's options, shared the way lxml.html shares its own
COPS_ID = re.compile(r"\bcops-([a-z])(\d+)\b", re.IGNORECASE)
TRACKING_PARAM = re.compile(
    r"^(utm_\w+|gclid|fbclid|msclkid|mc_cid|mc_eid|_ga|_gl|jsessionid|phpsessid|aspsessionid\w*|"
    r"sessionid|session_id|sid)$",
    re.IGNORECASE,
)


def parse(body: bytes, url: str, content_type: str | None = None) -> Page:
    """Return the page in ``body`` (served from ``url``); raise ParseError if it is not HTML text."""
    text, encoding = decode(body, content_type)
    root = _tree(text, url)
    for bad in root.xpath("//comment() | //processing-instruction()"):
        _drop(bad)
    lxml.etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    base = _base_url(root, url)

    title = norm(root.findtext(".//title") or "")
    spotlight = _take_spotlight(root, base)
    scope = _content_root(root)
    h1 = scope.find(".//h1")
    heading = norm(_text(h1 if h1 is not None else root.find(".//h1")))
    _drop_chrome(scope)
    entries = _listing(scope)
    publications = _publications(entries, base)
    return Page(
        url=url,
        title=title,
        heading=heading,
        intro=_intro(scope, entries[0][0] if entries else None),
        publications=publications,
        spotlight=spotlight,
        text="\n".join(_lines(scope)),
        encoding=encoding,
    )


# -- decoding -------------------------------------------------------------------------------


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode by BOM, then the HTTP charset, then <meta>, then detection."""
    if b"\x00" in body[:4096] and not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParseError("", "body is binary, not HTML text")
    for label in (
        _bom_encoding(body),
        _header_charset(content_type),
        EncodingDetector.find_declared_encoding(body, is_html=True, search_entire_document=False),
    ):
        encoding = _codec(label)
        if encoding:
            return body.decode(encoding, errors="replace").lstrip("\ufeff"), encoding
    dammit = UnicodeDammit(body, ["utf-8", "windows-1252"], is_html=True)
    if dammit.unicode_markup is None:
        raise ParseError("", "body is not decodable text")
    return dammit.unicode_markup, _codec(dammit.original_encoding) or "utf-8"


def _bom_encoding(body: bytes) -> str | None:
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return name
    return None


def _header_charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    if label in WINDOWS_1252_ALIASES:
        return "windows-1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


# -- tree -----------------------------------------------------------------------------------


def _tree(text: str, url: str) -> lxml.etree._Element:
    # lxml refuses str input that still carries an XML encoding declaration.
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        # lxml.html's parser with plain elements: lxml.html's element classes are looked up by a
        # Python function each time an element is touched, a third of the parse (BENCHMARKS.md).
        root = lxml.etree.fromstring(text, _HTML_PARSER)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(url, f"not an HTML document: {exc}") from None
    if root is None or root.find("body") is None:
        raise ParseError(url, "not an HTML document: no body")
    return root


def _base_url(root, url: str) -> str:
    base = root.find(".//base[@href]")
    return urljoin(url, base.get("href").strip()) if base is not None else url


def _drop(el) -> None:
    """Remove ``el`` but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def norm(text: str | None) -> str:
    """Collapse every run of whitespace (U+00A0 included) to one space and strip."""
    # str.split() splits on exactly what r"\s+" matches (str.isspace), at a fraction of the cost;
    # norm runs ~1,300 times per page (BENCHMARKS.md, parse cost).
    return " ".join(text.split()) if text else ""


def _text(el) -> str:
    return " ".join(_pieces(el)) if el is not None else ""


def _pieces(el):
    """Text of ``el`` in document order, with a break between blocks so words don't run together."""
    if el.text:
        yield el.text
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag in BLOCKS:
            yield " "
        yield from _pieces(child)
        if child.tail:
            yield child.tail


def _tokens(el) -> set[str]:
    return {t.lower() for t in (el.get("class", "") + " " + el.get("id", "")).split()}


def _is_chrome(el) -> bool:
    if el.tag == "nav" or (el.get("role") or "").lower() in CHROME_ROLES:
        return True
    if "breadcrumb" in (el.get("aria-label") or "").lower():
        return True
    if any(CHROME_TOKEN.search(token) for token in _tokens(el)):
        return True
    # A page-level header/footer is chrome; one inside an article or section belongs to it.
    if el.tag in ("header", "footer"):
        return not any(a.tag in ("article", "section", "main") for a in el.iterancestors())
    return False


def _drop_chrome(scope) -> None:
    for el in list(scope.iter()):
        if isinstance(el.tag, str) and el is not scope and el.getparent() is not None and _is_chrome(el):
            _drop(el)


def _content_root(root):
    body = root.find("body")
    for xpath in ('//main', '//*[@role="main"]', '//*[@id="main-content" or @id="content" or @id="main"]'):
        found = root.xpath(xpath)
        if found and _text_links(found[0]):
            return found[0]
    return body


# -- spotlight ------------------------------------------------------------------------------


def _take_spotlight(root, base: str) -> tuple[SpotlightItem, ...]:
    """Find the box labelled "Spotlight", read its links, and remove it from the tree."""
    region = _spotlight_region(root)
    if not region:
        return ()
    items = []
    for part in region:
        for link in part.iter("a"):
            href = (link.get("href") or "").strip()
            if not href or href.startswith(UNLINKABLE):
                continue
            img = link.find(".//img")
            image = (img.get("src") or "").strip() if img is not None else ""
            title = norm(_text(link))
            if not title and img is not None:
                title = norm(img.get("alt")) or norm(img.get("title"))
            title = title or norm(link.get("title")) or norm(link.get("aria-label"))
            items.append(
                SpotlightItem(
                    url=urljoin(base, href),
                    image=urljoin(base, image) if image else None,
                    title=title,
                    position=len(items) + 1,
                )
            )
    for part in region:
        _drop(part)
    return tuple(items)


def _is_spotlight_label(text: str | None) -> bool:
    return norm(text).lower().rstrip(":") == "spotlight"


def _spotlight_region(root) -> list:
    """The elements that make up the Spotlight box (a labelled container, or heading + siblings)."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        label = el.get("aria-label")
        labelledby = el.get("aria-labelledby")
        if labelledby:
            ref = root.xpath("//*[@id=$id]", id=labelledby.split()[0])
            label = _text(ref[0]) if ref else label
        if _is_spotlight_label(label) or "spotlight" in _tokens(el) and el.find(".//a") is not None:
            return [el]
    for heading in root.iter(*HEADINGS):
        if not _is_spotlight_label(_text(heading)):
            continue
        # Walk up through wrappers around the heading until its following siblings hold links.
        node = heading
        for _ in range(4):
            siblings = []
            for sibling in node.itersiblings():
                if sibling.tag in HEADINGS:
                    break
                siblings.append(sibling)
            if any(s.tag == "a" or s.find(".//a") is not None for s in siblings if isinstance(s.tag, str)):
                return [node, *siblings]
            node = node.getparent()
            if node is None or node.tag == "body":
                break
    return []


# -- listing --------------------------------------------------------------------------------


def _text_links(scope) -> list:
    links = []
    for link in scope.iter("a"):
        href = (link.get("href") or "").strip()
        if href and not href.lower().startswith(UNLINKABLE) and norm(_text(link)):
            links.append(link)
    return links


def _leading_text(link) -> str:
    """Text just before the link inside its own block: a link mid-sentence is not a title."""
    previous = link.getprevious()
    if previous is not None:
        return norm(previous.tail) if previous.tag not in BLOCKS else ""
    parent = link.getparent()
    return norm(parent.text) if parent is not None else ""


def _listing(scope) -> list[tuple]:
    """Return the listing as (entry element, link, description) in page order."""
    links = _text_links(scope)
    counts: dict = defaultdict(int)
    for link in links:
        for ancestor in link.iterancestors():
            counts[ancestor] += 1
            if ancestor is scope:
                break

    groups: dict[tuple, list] = defaultdict(list)
    for link in links:
        if len(_leading_text(link)) > 3:
            continue
        entry = link
        while entry.getparent() is not None and entry.getparent() is not scope and counts[entry.getparent()] == 1:
            entry = entry.getparent()
        path = tuple(a.tag for a in reversed(list(entry.iterancestors()))) + (entry.tag,)
        groups[path].append((entry, link))

    best: list = []
    best_score = (0, 0)
    for members in groups.values():
        described = _describe(members, counts)
        score = (sum(1 for _, _, d in described if d), len(described))
        if score[0] and score > best_score:
            best, best_score = described, score
    return best


def _describe(members: list, counts) -> list[tuple]:
    """Attach its description to each (entry, link); the last entry may not run on further than others."""
    chunks = [_description_chunks(entry, link, counts) for entry, link in members]
    own = [c[0] for c in chunks]
    following = [c[1] for c in chunks]
    if len(following) > 1:
        following[-1] = following[-1][: max(len(f) for f in following[:-1])]
    return [
        (entry, link, _strip_joiner(norm(" ".join([own[i], *following[i]]))))
        for i, (entry, link) in enumerate(members)
    ]


def _description_chunks(entry, link, counts) -> tuple[str, list[str]]:
    after: list[str] = []
    seen = False

    def walk(el):
        nonlocal seen
        if el is link:
            seen = True
            return
        if seen and el.text:
            after.append(el.text)
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if seen and child.tag in BLOCKS:
                after.append(" ")
            walk(child)
            if seen and child.tail:
                after.append(child.tail)

    walk(entry)
    following = []
    if norm(entry.tail):
        following.append(norm(entry.tail))
    for sibling in entry.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if counts.get(sibling) or sibling.tag == "a" or sibling.tag in HEADINGS or sibling.tag == "hr":
            break
        text = norm(_text(sibling))
        if text:
            following.append(text)
        if norm(sibling.tail):
            following.append(norm(sibling.tail))
    return norm("".join(after)), following


def _strip_joiner(description: str) -> str:
    """``<a>Title</a>: description`` puts the joiner in the description; drop it."""
    return re.sub(r"^[\s:;,.\u2013\u2014-]+", "", description)


def _publications(entries: list[tuple], base: str) -> tuple[Publication, ...]:
    seen: set[str] = set()
    publications = []
    for _, link, description in entries:
        url = clean_url(urljoin(base, link.get("href").strip()))
        key = publication_key(url)
        if key in seen:  # the same publication linked twice: keep its first listing
            continue
        seen.add(key)
        publications.append(
            Publication(key=key, title=norm(_text(link)), url=url, description=description,
                        position=len(publications) + 1)
        )
    return tuple(publications)


def _intro(scope, first_entry) -> str:
    """The paragraphs of the content that come before the listing."""
    around = set(first_entry.iterancestors()) if first_entry is not None else set()
    paragraphs = []
    for el in scope.iter():
        if el is first_entry:
            break
        if el.tag == "p" and el not in around:
            text = norm(_text(el))
            if text:
                paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _lines(scope) -> list[str]:
    """The content's text, one line per block, for the unified text diff."""
    lines, current = [], []

    def flush():
        line = norm("".join(current))
        if line:
            lines.append(line)
        current.clear()

    def walk(el):
        if el.text:
            current.append(el.text)
        for child in el:
            if not isinstance(child.tag, str):
                continue
            block = child.tag in BLOCKS
            if block:
                flush()
            walk(child)
            if block:
                flush()
            if child.tail:
                current.append(child.tail)

    walk(scope)
    flush()
    return lines


# -- keys and URLs --------------------------------------------------------------------------


def clean_url(url: str) -> str:
    """Drop tracking and session parameters, which change between visits but name nothing."""
    parts = urlsplit(url)
    path = re.sub(r";jsessionid=[^/?#]*", "", parts.path, flags=re.IGNORECASE)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAM.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


def publication_key(url: str) -> str:
    """The COPS publication ID (``cops-p247``) when the URL carries one, else the normalised URL."""
    match = COPS_ID.search(urlsplit(url).path + "?" + urlsplit(url).query)
    if match:
        return f"cops-{match.group(1).lower()}{match.group(2)}"
    return normalize_url(url)


def normalize_url(url: str) -> str:
    parts = urlsplit(clean_url(url))
    host = (parts.hostname or "").lower()
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))
