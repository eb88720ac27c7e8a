"""The SQLite archive: captures, versions, publication history and diffs. Never fetches or parses."""
