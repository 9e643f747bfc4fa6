"""`python -m standin HOME SCRIPT [command] [-D...]`: see main.py."""

import sys

from .main import main

sys.exit(main())
