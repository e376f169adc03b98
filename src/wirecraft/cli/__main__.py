"""`python -m wirecraft.cli` runs the CLI."""

from wirecraft.cli import main

main(prog_name="wirecraft")
