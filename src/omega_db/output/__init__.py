"""Output: the terminal (width, colours), the standard streams (formats, notes, JSON, output that
fails), tables drawn as rows are read, and what each command shows. The only package that draws;
it reads the cores' results and never opens a database. It may import every package before it.
"""

MODULES = ("terminal", "streams", "table", "reports", "listings", "backups", "learning", "context", "projects", "prune")
