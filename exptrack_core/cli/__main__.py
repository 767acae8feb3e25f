import sys

from exptrack_core.cli.commands import main

sys.exit(main())
