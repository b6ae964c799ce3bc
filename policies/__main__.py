"""``python -m policies``: see `policies.cli`."""

import sys

from policies.cli import main

sys.exit(main())
