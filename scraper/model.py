"""Plain, frozen values passed from the scraper to storage. No parser or HTTP objects escape."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # only the ones worth keeping, lower-case names
    body: bytes
    fetched_at: datetime  # UTC, when the request started
    duration_ms: float
    redirects: tuple[str, ...] = ()  # every URL that answered with a redirect, in order


@dataclass(frozen=True)
class Publication:
    key: str  # COPS publication ID (cops-p247) when the URL carries one, else the normalised URL
    title: str
    url: str
    description: str
    position: int  # 1-based, page order


@dataclass(frozen=True)
class SpotlightItem:
    url: str
    image: str | None
    title: str  # link text, else the image's alt, else its title attribute
    position: int


@dataclass(frozen=True)
class Page:
    url: str
    title: str  # <title>
    heading: str  # first <h1> of the content
    intro: str  # paragraphs before the listing, separated by blank lines
    publications: tuple[Publication, ...]
    spotlight: tuple[SpotlightItem, ...] = ()
    text: str = ""  # the content's text, one block per line, for text diffs
    encoding: str = "utf-8"
