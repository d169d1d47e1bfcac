"""``python -m toolkit``: see ``toolkit.cli``."""

from toolkit.cli import main

main()
