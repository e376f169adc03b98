"""`python -m wirecraft` runs the CLI."""

from wirecraft.cli import main

main()
