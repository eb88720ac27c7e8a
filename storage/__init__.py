"""The SQLite archive: captures, versions, publication history and diffs. Never fetches or parses."""

# The number of migrations in storage/migrations.py. An archive whose PRAGMA user_version equals it
# is opened without importing sqlite-utils (slow to import) on the nightly path.
SCHEMA_VERSION = 5
