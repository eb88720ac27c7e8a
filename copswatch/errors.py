"""The root of copswatch's exception hierarchy.

    CopswatchError
    ├── copswatch.config.ConfigError   a bad setting: names the file, key and value (exit 2)
    ├── scraper.errors.FetchError      the page could not be fetched (carries the URL)
    │   ├── HTTPStatusError            the server answered with a status we do not read
    │   ├── TooLarge                   the body passed max_body_size
    │   ├── RobotsDisallowed           robots.txt forbids the URL to our User-Agent
    │   └── robots.RobotsUnreadable    robots.txt could not be read (retried like the page)
    ├── scraper.errors.ParseError      the body is not a page we can read (carries the URL)
    ├── storage.errors.ArchiveError    the archive cannot be opened or queried (carries the path)
    │   ├── NotFound                   a version or record that does not exist
    │   └── maintenance.Damaged        an SQLite file too damaged to read its schema
    ├── schedules.lock.ArchiveBusy     another check holds the archive's lock (exit 75)
    ├── notify.errors.ChannelError     a notification URL apprise cannot use
    └── notify.errors.FeedError        the Atom feed could not be written

Each package keeps its own errors module so that no stage imports another stage to raise.
"""


class CopswatchError(Exception):
    """An expected failure: reported as one line, never as a traceback."""
