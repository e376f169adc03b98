"""`python -m wirecraft.cli` runs the CLI."""

from wirecraft.cli import main

main()
