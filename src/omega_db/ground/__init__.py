"""The ground every command stands on: errors with their exit codes, the defaults the CLI reads
at start-up, stored text made visible, text that is not UTF-8, SQL text as data, which file is
OMEGA's, who holds a file open, connections and transactions, and SQLite's online copy (the one
way every command that writes makes its backup). It imports nothing of omega_db's above it.
"""

MODULES = ("errors", "defaults", "untrusted", "decoding", "sql", "paths", "holders", "db", "online_copy")
