"""The root of copswatch's exception hierarchy.

    CopswatchError
    ├── scraper.errors.FetchError      the page could not be fetched (carries the URL)
    │   ├── HTTPStatusError            the server's answer is not one we read (status, type, landing page)
    │   ├── TooLarge                   the body passed max_body_size
    │   └── RobotsDisallowed           robots.txt forbids the URL to our User-Agent
    ├── scraper.errors.ParseError      the body is not a page we can read (carries the URL)
    └── storage.errors.ArchiveError    the archive cannot be opened or queried (carries the path)
        ├── NotFound                   a version or record that does not exist
        └── maintenance.Damaged        an SQLite file too damaged to read its schema

Each package keeps its own errors module so that no stage imports another stage to raise.
"""


class CopswatchError(Exception):
    """An expected failure: reported as one line, never as a traceback."""
