"""Backups: reading a copy without a trace beside it, the catalogue of a database's backups
(taking one, finding, listing and pruning them), and `restore`. The copy itself is
`ground.online_copy`, shared with every command that writes. It may import every package before
it (`ground`, `chain`, `verify`, `data`).
"""

MODULES = ("reading", "catalogue", "restore")
