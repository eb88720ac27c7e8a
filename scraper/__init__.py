"""Fetching and parsing the watched page. Never imports storage/."""

# Bump when a change to the parser can change what it extracts from the same bytes; versions record
# it, and the job re-parses (never trusts the same-bytes shortcut) across a change of it.
# 2: echo links ("(PDF)", "Read more") are no entries; inline markup joins text as shown; page-level
#    header/footer named by id or class is chrome; Spotlight URLs lose tracking parameters; CSS selectors.
PARSER_VERSION = "3"
