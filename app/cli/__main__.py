"""``python -m app.cli``: the `docent` command."""

import sys

from app.cli.main import main

sys.exit(main())
