"""The nightly job and what runs it. The only place, with the CLI, that wires stages together."""
