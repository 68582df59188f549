"""The local runtime (dev only, never deployed): moto in server mode + the template's functions."""
