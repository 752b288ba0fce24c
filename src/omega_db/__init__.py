"""omega-db: administration of the OMEGA agent's memory database."""

__version__ = "0.1.0"
