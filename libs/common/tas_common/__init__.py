"""Shared building blocks of the TAS services. Nothing here does I/O at import time."""
