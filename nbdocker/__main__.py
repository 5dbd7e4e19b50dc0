"""``python -m nbdocker`` runs the CLI."""
import sys

from .frontends.cli import main

sys.exit(main())
