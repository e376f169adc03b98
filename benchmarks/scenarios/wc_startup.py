"""Start-up cost: import wirecraft and open a capture (loads the Cython core and numpy)."""

import sys

import wirecraft

with wirecraft.open(sys.argv[1]) as cap:
    cap.linktype  # noqa: B018 - touch the reader so nothing stays lazy
