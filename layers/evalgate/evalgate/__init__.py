"""evalgate: the shared layer (models, store, auth, services, api wiring)."""

__version__ = "0.1.0"
