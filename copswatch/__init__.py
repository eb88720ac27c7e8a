"""copswatch: a nightly scraper and evidence-grade archive of the COPS Office "Building Trust" page."""

__version__ = "0.1.0"
