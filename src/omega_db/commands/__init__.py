"""The commands: shell completion's look-ups, the options every command shares, and each command
as a Typer function that parses, calls its core once and renders (registered by `omega_db.cli`).
It may import every package before it.
"""

MODULES = ("completion", "options", "core", "listings", "backups", "learning", "context", "projects", "prune")
