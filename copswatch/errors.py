"""The root of copswatch's exception hierarchy.

    CopswatchError
    ├── scraper.errors.FetchError      the page could not be fetched (carries the URL)
    │   └── HTTPStatusError            the server answered with a non-2xx status
    ├── scraper.errors.ParseError      the body is not a page we can read (carries the URL)
    └── storage.errors.ArchiveError    the archive cannot be opened or queried (carries the path)
        └── NotFound                   a version or record that does not exist

Each package keeps its own errors module so that no stage imports another stage to raise.
"""


class CopswatchError(Exception):
    """An expected failure: reported as one line, never as a traceback."""
