"""The package version (one place; the CLI and image labels read it)."""
__version__ = "0.1.0"
