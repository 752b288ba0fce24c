"""omega-db: administration of the OMEGA agent's memory database.

The package is built in layers, lowest first (PACKAGES): a module imports only
from a package before its own, or from a module listed before it in its own
package's MODULES; `cli` (the Typer app) sits on top. tests/test_layers.py reads
this order and holds every import to it.
"""

__version__ = "0.1.0"

PACKAGES = ("ground", "chain", "verify", "data", "backups", "output", "commands", "cli")
