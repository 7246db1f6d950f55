"""``python -m statechat`` runs the CLI."""

import sys

from statechat.cli import main

sys.exit(main())
