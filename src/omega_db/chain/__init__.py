"""The migration chain and a file's structure: a whole table copied by name (with SQLite's
transfer copy when the columns allow it), the shipped SQL files as data, a schema read into
plain data and compared, the history a file records and its plan, the one transaction that
applies a migration with its record, a half-applied migration recognised and repaired, and
`migrate` itself. It may import `ground`.
"""

MODULES = ("transfer", "files", "schema", "compare", "history", "apply", "halfapplied", "repair", "migrate")
