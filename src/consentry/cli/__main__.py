"""``python -m consentry.cli``."""

from consentry.cli import main

main()
