"""`python -m policydsl`: the command line (`cli/main.py`)."""

from policydsl.cli.main import main

raise SystemExit(main())
