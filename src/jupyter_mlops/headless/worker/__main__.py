"""``python -m jupyter_mlops.headless.worker``: start a warm worker for this environment."""

import sys

from .server import main

sys.exit(main())
