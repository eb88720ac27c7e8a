"""Alerts: deliver the archive's outbox to apprise channels, and write the Atom feed of publication events.

A stage after ``storage/``: it receives plain values (``storage.outbox`` deliveries and events) and
never fetches or parses a page.
"""
