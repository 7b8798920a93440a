"""``python -m jupyter_mlops`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
