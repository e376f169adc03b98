"""`python -m wirecraft` runs the CLI (`python -m wirecraft --version` prints the version)."""

from wirecraft.cli import main

main(prog_name="wirecraft")
