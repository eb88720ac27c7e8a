"""Parse a page's bytes into a ``Page``: title, intro, publication listing and Spotlight box.

The real markup of the page is unknown and government sites get redesigned, so nothing here
depends on a class name. The listing is found by structure:

1. Chrome is dropped: scripts, styles, comments, ``<nav>``, breadcrumbs, page-level
   ``<header>``/``<footer>`` (or ``#footer``/``.site-header``… outside content and entries), ARIA
   banner/navigation/contentinfo/search regions.
2. The Spotlight box is found by its heading (or a region labelled "Spotlight"), read and removed.
3. In the main content every text link is a candidate title, except a link in mid-sentence and an
   *echo* (a link to the same address as the candidate just before it: "(PDF)", "Read more"). Its
   *entry* is the largest element around it that holds no other candidate; its description is the
   entry's text after the link,
   then the entry's following siblings up to the next candidate, heading or rule.
4. Entries are grouped by their tag path from the content root; the group with the most
   described entries is the listing (several lists with the same markup merge into one).

Optional CSS selectors (``selectors``, from a target's configuration) override the heuristics; the keys
are ``SELECTOR_KEYS``: ``listing`` (the element(s) holding the listing: the heuristics run only inside),
``entry`` (one element per publication), ``title`` (the title link; inside ``entry`` when that is set),
``description`` (the description element(s) inside ``entry``; without ``entry`` descriptions are found
as usual) and ``spotlight`` (the Spotlight box). A selector that matches nothing falls back to the
heuristics, so a redesign degrades to structural parsing instead of to an empty listing.

Decoding follows the declared charset: HTTP header, then ``<meta>``, then detection
(beautifulsoup4's UnicodeDammit), with the WHATWG rule that latin-1/ascii labels mean windows-1252.
"""

import codecs
import re
from collections import defaultdict
from collections.abc import Mapping
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
PAGE_CHROME_TOKENS = frozenset({"footer", "site-footer", "page-footer", "global-footer", "region-footer",
                                "header", "site-header", "global-header", "masthead", "banner"})
# A word in every class or id token that CHROME_TOKEN or PAGE_CHROME_TOKENS name.
CHROME_WORD = re.compile(r"breadcrumb|skip|sr-only|visually-hidden|element-invisible|footer|header|masthead|banner")
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
SELECTOR_KEYS = ("listing", "entry", "title", "description", "spotlight")


def parse(body: bytes, url: str, content_type: str | None = None, selectors: Mapping[str, str] | None = None) -> Page:
    """Return the page in ``body`` (served from ``url``); raise ParseError if it is not HTML text."""
    selectors = dict(selectors or {})
    unknown = set(selectors) - set(SELECTOR_KEYS)
    if unknown:
        raise ParseError(url, f"unknown selector key {sorted(unknown)[0]!r} (known: {', '.join(SELECTOR_KEYS)})")
    try:
        text, encoding = decode(body, content_type)
    except ParseError as exc:
        raise ParseError(url, exc.reason) from None
    root = _tree(text, url)
    for bad in root.xpath("//comment() | //processing-instruction()"):
        _drop(bad)
    lxml.etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    base = _base_url(root, url)

    title = norm(root.findtext(".//title") or "")
    spotlight = _take_spotlight(root, base, _select(root, selectors.get("spotlight"), url))
    scope = _content_root(root)
    h1 = scope.find(".//h1")
    heading = norm(_text(h1 if h1 is not None else root.find(".//h1")))
    _drop_chrome(scope)
    entries = _selected_listing(scope, selectors, url) if selectors else []
    entries = entries or _listing(scope)
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
            text = body.decode(encoding, errors="replace").lstrip("\ufeff")
            # A few bad bytes are a page with typos; a body that is mostly undecodable is not text.
            if text.count("\ufffd") > max(16, len(text) // 20):
                raise ParseError("", f"body is not decodable text ({encoding} declared)")
            return text, encoding
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
    # lxml refuses str input that still carries an XML encoding declaration, and text nodes holding
    # control characters (which no browser shows either).
    text = re.sub(r"^\s*<\?xml[^>]*>", "", _CONTROL.sub("", text))
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
    return (_resolve(url, base.get("href").strip()) or url) if base is not None else url


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


def _text(el, skip=frozenset()) -> str:
    """Text of ``el`` (less the elements in ``skip``), inline markup joined as a browser shows it."""
    if el is None:
        return ""
    if not len(el):  # most links and cells: no children to walk
        return el.text or ""
    return "".join(_pieces(el, skip))


def _pieces(el, skip=frozenset()):
    """Text of ``el`` in document order, with a break between blocks so words don't run together."""
    if el.text:
        yield el.text
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag in BLOCKS:
            yield " "
        if child not in skip:
            yield from _pieces(child, skip)
        if child.tail:
            yield child.tail


def _class_and_id(el) -> str:
    return (el.get("class", "") + " " + el.get("id", "")).lower()


def _tokens(el) -> set[str]:
    return set(_class_and_id(el).split())


def _is_chrome(el) -> bool:
    if el.tag == "nav" or (el.get("role") or "").lower() in CHROME_ROLES:
        return True
    if "breadcrumb" in (el.get("aria-label") or "").lower():
        return True
    if el.tag not in ("header", "footer") and not CHROME_WORD.search(_class_and_id(el)):
        return False  # most elements: one search instead of the checks below
    if any(CHROME_TOKEN.search(token) for token in _tokens(el)):
        return True
    # A page-level header/footer is chrome; one inside an article or section belongs to it. Older
    # templates say it with a class or id (``<div id="footer">``), often with a "generated at" stamp.
    if el.tag in ("header", "footer"):
        return not any(a.tag in ("article", "section", "main") for a in el.iterancestors())
    if _tokens(el) & PAGE_CHROME_TOKENS:  # said by an id or class: not inside content, not part of an entry
        if any(a.tag in ("article", "section", "main") for a in el.iterancestors()):
            return False
        return (el.get("id") or "").lower() in PAGE_CHROME_TOKENS or not (_repeated(el) or _repeated(el.getparent()))
    return False


def _repeated(el) -> bool:
    """Whether a sibling shares ``el``'s class: one of a run of entries, not a page region."""
    if el is None or not el.get("class"):
        return False
    return any(s.get("class") == el.get("class") for s in [*el.itersiblings(preceding=True), *el.itersiblings()])


# What _is_chrome looks at, in document order. An element without any of it is no chrome, and
# XPath finds these in C, a fraction of the cost of a Python walk over every element.
_CHROME_CLUES = lxml.etree.XPath(
    "descendant::nav | descendant::header | descendant::footer | "
    "descendant::*/@role | descendant::*/@aria-label | descendant::*/@class | descendant::*/@id"
)


def _drop_chrome(scope) -> None:
    previous = None
    for clue in _CHROME_CLUES(scope):
        el = clue.getparent() if isinstance(clue, str) else clue  # an attribute's element
        if el is previous:  # its other attributes: already decided
            continue
        previous = el
        if el.getparent() is not None and _is_chrome(el):
            _drop(el)


# Attribute tests are written as ``//@a[. = "v"]/..``: the same elements as ``//*[@a = "v"]`` (in
# document order), found several times faster by libxml2, which then visits attributes, not elements.
_MAIN_CANDIDATES = [lxml.etree.XPath(xpath) for xpath in (
    '//main', '//@role[. = "main"]/..', '//@id[. = "main-content" or . = "content" or . = "main"]/..')]
_BY_ID = lxml.etree.XPath("//@id[. = $id]/..")


def _content_root(root):
    body = root.find("body")
    for xpath in _MAIN_CANDIDATES:
        found = xpath(root)
        if found and next(_iter_text_links(found[0]), None) is not None:
            return found[0]
    return body


# -- spotlight ------------------------------------------------------------------------------


def _take_spotlight(root, base: str, region: list | None = None) -> tuple[SpotlightItem, ...]:
    """Find the box labelled "Spotlight" (or take ``region``), read its links, and remove it from the tree."""
    region = region or _spotlight_region(root)
    if not region:
        return ()
    items = []
    for part in region:
        for link in part.iter("a"):
            href = (link.get("href") or "").strip()
            if not href or href.startswith(UNLINKABLE):
                continue
            url = _resolve(base, href)
            if url is None:
                continue
            img = link.find(".//img")
            image = (img.get("src") or "").strip() if img is not None else ""
            title = norm(_text(link))
            if not title and img is not None:
                title = norm(img.get("alt")) or norm(img.get("title"))
            title = title or norm(link.get("title")) or norm(link.get("aria-label"))
            items.append(
                SpotlightItem(
                    url=url,
                    image=_resolve(base, image) if image else None,
                    title=title,
                    position=len(items) + 1,
                )
            )
    for part in region:
        _drop(part)
    return tuple(items)


def _is_spotlight_label(text: str | None) -> bool:
    return norm(text).lower().rstrip(":") == "spotlight"


# The attributes that can mark the Spotlight box, in document order; XPath finds them in C, a
# fraction of the cost of a Python walk over every element.
_LABELS = lxml.etree.XPath("//@aria-label | //@aria-labelledby | //@class | //@id")


def _spotlight_region(root) -> list:
    """The elements that make up the Spotlight box (a labelled container, or heading + siblings)."""
    for attribute in _LABELS(root):
        if attribute.attrname in ("class", "id") and "spotlight" not in attribute.lower():
            continue
        el = attribute.getparent()
        label = el.get("aria-label")
        labelledby = el.get("aria-labelledby")
        if labelledby:
            ref = _BY_ID(root, id=labelledby.split()[0])
            label = _text(ref[0]) if ref else label
        if label and _is_spotlight_label(label) or "spotlight" in _class_and_id(el) and "spotlight" in _tokens(el) \
                and el.find(".//a") is not None:
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
    return list(_iter_text_links(scope))


def _iter_text_links(scope):
    for link in scope.iter("a"):
        href = (link.get("href") or "").strip()
        if href and not href.lower().startswith(UNLINKABLE) and norm(_text(link)):
            yield link


def _leading_text(link) -> str:
    """Text just before the link inside its own block: a link mid-sentence is not a title."""
    previous = link.getprevious()
    if previous is not None:
        return norm(previous.tail)
    parent = link.getparent()
    return norm(parent.text) if parent is not None else ""


def _listing(scope) -> list[tuple]:
    """Return the listing as (entry element, link, description) in page order."""
    links, echoes = _candidates(scope)
    counts: dict = defaultdict(int)
    for link in links:
        counts[link] = 1  # a candidate ends the description before it
        for ancestor in link.iterancestors():
            counts[ancestor] += 1
            if ancestor is scope:
                break

    groups: dict[tuple, list] = defaultdict(list)
    paths: dict = {}  # the tag path of each entry's parent, computed once: entries are mostly siblings
    for link in links:
        entry, parent = link, link.getparent()
        while parent is not None and parent is not scope and counts[parent] == 1:
            entry, parent = parent, parent.getparent()
        if parent not in paths:
            paths[parent] = tuple(reversed([a.tag for a in entry.iterancestors()]))
        groups[(*paths[parent], entry.tag)].append((entry, link))

    best: list = []
    best_score = (0, 0)
    for members in groups.values():
        described = _describe(members, counts, echoes)
        score = (sum(1 for _, _, d in described if d), len(described))
        if score[0] and score > best_score:
            best, best_score = described, score
    return best


def _candidates(scope) -> tuple[list, frozenset]:
    """Text links that may be titles, and the *echoes* left out: a link to the same address as the
    candidate just before it ("(PDF)", "Read more", "Download") repeats that title, it is no entry.
    A link in mid-sentence (a description's own link) is neither: it is just text."""
    links, echoes = [], set()
    for link in _text_links(scope):
        if len(_leading_text(link)) > 3:
            continue
        if links and links[-1].get("href").strip() == link.get("href").strip():
            echoes.add(link)
        else:
            links.append(link)
    return links, frozenset(echoes)


def _select(scope, selector: str | None, url: str) -> list:
    if not selector:
        return []
    from lxml.cssselect import CSSSelector, SelectorError

    try:
        return CSSSelector(selector)(scope)
    except SelectorError as exc:
        raise ParseError(url, f"bad CSS selector {selector!r}: {exc}") from None


def _selected_listing(scope, selectors: dict, url: str) -> list[tuple]:
    """The listing as the configured selectors say; [] when they find nothing (the heuristics take over)."""
    containers = _select(scope, selectors.get("listing"), url) or [scope]
    entries: list[tuple] = []
    for container in containers:
        if selectors.get("entry"):
            for entry in _select(container, selectors["entry"], url):
                links = _select(entry, selectors.get("title"), url) or _text_links(entry)
                link = _as_link(links[0]) if links else None
                if link is None:
                    continue
                described = _select(entry, selectors.get("description"), url)
                if described:
                    description = norm(" ".join(_text(d) for d in described))
                else:
                    description = _strip_joiner(_description_chunks(entry, link, {})[0])
                entries.append((entry, link, description))
        elif selectors.get("title"):
            links = [_as_link(el) for el in _select(container, selectors["title"], url)]
            links = [link for link in links if link is not None]
            counts: dict = defaultdict(int)
            for link in links:
                counts[link] = 1
                for ancestor in link.iterancestors():
                    counts[ancestor] += 1
            members = []
            for link in links:
                entry = link
                while entry.getparent() is not None and entry.getparent() is not container \
                        and counts[entry.getparent()] == 1:
                    entry = entry.getparent()
                members.append((entry, link))
            entries.extend(_describe(members, counts))
        elif container is not scope:
            entries.extend(_listing(container))
    return entries


def _as_link(el):
    """The element if it is a link with an address, else the first such link inside it."""
    for link in [el, *el.iter("a")]:
        if link.tag == "a" and (link.get("href") or "").strip():
            return link
    return None


def _describe(members: list, counts, echoes=frozenset()) -> list[tuple]:
    """Attach its description to each (entry, link); the last entry may not run on further than others."""
    chunks = [_description_chunks(entry, link, counts, echoes) for entry, link in members]
    own = [c[0] for c in chunks]
    following = [c[1] for c in chunks]
    if len(following) > 1:
        following[-1] = following[-1][: max(len(f) for f in following[:-1])]
    return [
        (entry, link, _strip_joiner(norm(" ".join([own[i], *following[i]]))))
        for i, (entry, link) in enumerate(members)
    ]


def _description_chunks(entry, link, counts, echoes=frozenset()) -> tuple[str, list[str]]:
    after: list[str] = []
    seen = False

    def walk(el):
        nonlocal seen
        if el is link:
            seen = True
            return
        if el in echoes:
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
    tail = norm(entry.tail)
    if tail:
        following.append(tail)
    for sibling in entry.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if counts.get(sibling) or sibling.tag in HEADINGS or sibling.tag == "hr":
            break
        text = "" if sibling in echoes else norm(_text(sibling, echoes))
        if text:
            following.append(text)
        tail = norm(sibling.tail)
        if tail:
            following.append(tail)
    return norm("".join(after)), following


_JOINER = re.compile(r"^[\s:;,.\u2013\u2014-]+")


def _strip_joiner(description: str) -> str:
    """``<a>Title</a>: description`` puts the joiner in the description; drop it."""
    return _JOINER.sub("", description)


def _publications(entries: list[tuple], base: str) -> tuple[Publication, ...]:
    seen: set[str] = set()
    publications = []
    for _, link, description in entries:
        url = _resolve(base, link.get("href").strip())
        if url is None:  # an address no browser could follow either
            continue
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
    # Blocks are marked with a NUL (no text in an lxml tree can hold one) and the lines split at them at
    # the end: one join and split instead of a join per block.
    pieces: list[str] = []

    def walk(el):
        if el.text:
            pieces.append(el.text)
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag in BLOCKS:
                pieces.append("\x00")
                walk(child)
                pieces.append("\x00")
            else:
                walk(child)
            if child.tail:
                pieces.append(child.tail)

    walk(scope)
    return [line for line in map(norm, "".join(pieces).split("\x00")) if line]


# -- keys and URLs --------------------------------------------------------------------------


# A plain href (an http(s) URL or a path from the root, with none of what urllib rewrites: dot
# segments, ";params", a fragment, escapes or bare keys in the query, a tracking parameter) resolves
# to itself, or to the base's origin plus itself. Most hrefs are plain, and urljoin + clean_url cost
# more than a third of a parse (BENCHMARKS.md, parse cost); test_parse checks both ways agree.
_PLAIN_HREF = re.compile(
    r"(?P<origin>https?://[A-Za-z0-9.-]+)?(?P<path>/[\w.~/%-]*)?(?:\?(?P<query>[\w.~-]+=[\w.~-]*(?:&[\w.~-]+=[\w.~-]*)*))?",
    re.ASCII,
)


def _plain_resolve(base: str, href: str) -> str | None:
    """``_resolve`` for a plain href, without urllib; None when ``href`` is not plain."""
    match = _PLAIN_HREF.fullmatch(href)
    if match is None or "/." in href:
        return None
    if match["query"] and any(TRACKING_PARAM.match(pair.partition("=")[0]) for pair in match["query"].split("&")):
        return None
    if match["origin"]:
        return href
    if not match["path"] or href.startswith("//"):
        return None
    origin = _PLAIN_HREF.match(base)["origin"]  # a root-relative path keeps the base's scheme and host
    if origin is None or base[len(origin):len(origin) + 1] not in ("", "/", "?", "#"):
        return None
    return origin + href


def _resolve(base: str, href: str) -> str | None:
    """``href`` made absolute and cleaned; None when it is not a usable URL (a bad port or IPv6 host)."""
    plain = _plain_resolve(base, href)
    return plain if plain is not None else _urllib_resolve(base, href)


def _urllib_resolve(base: str, href: str) -> str | None:
    try:
        url = clean_url(urljoin(base, href))
        urlsplit(url).port
    except ValueError:
        return None
    return url


def clean_url(url: str) -> str:
    """Drop tracking and session parameters, which change between visits but name nothing."""
    parts = urlsplit(url)
    path = re.sub(r";jsessionid=[^/?#]*", "", parts.path, flags=re.IGNORECASE)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAM.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


def publication_key(url: str) -> str:
    """The COPS publication ID (``cops-p247``) when the URL carries one, else the normalised URL."""
    parts = urlsplit(url)
    match = COPS_ID.search(parts.path + "?" + parts.query)
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
