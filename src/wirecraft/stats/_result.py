"""StatsTable: the result of a statistic, a few named columns that convert like a Table.

A wirecraft Table holds decoder records (one row per packet); a statistic's rows are
groups (a conversation, an interval, a DNS name), so they live in this small column
store, which converts to pandas and Arrow column by column like `Table` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .._optional import require


class StatsTable:
    """Rows of a statistic as named columns (lists), with a title and notes.

    `title` says what the rows are ("TCP Conversations"); `notes` hold counts worth
    telling beside the rows (what a cap dropped, packets that had no such layer)."""

    def __init__(self, title: str, columns: Mapping[str, Sequence[Any]],
                 notes: dict[str, Any] | None = None) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError("columns of a StatsTable must have one length")
        self.title = title
        self._cols = {k: list(v) for k, v in columns.items()}
        self.notes: dict[str, Any] = dict(notes or {})

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()), []))

    def __getitem__(self, name: str) -> list[Any]:
        return self._cols[name]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = self.columns
        for row in zip(*self._cols.values(), strict=True):
            yield dict(zip(names, row, strict=True))

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every row as a plain dict."""
        return list(self)

    def to_dict(self) -> dict[str, list[Any]]:
        """{column: list of values}."""
        return {k: list(v) for k, v in self._cols.items()}

    def to_pandas(self) -> Any:
        """As a pandas.DataFrame."""
        pd = require("pandas")
        return pd.DataFrame(self.to_dict())

    def to_arrow(self) -> Any:
        """As a pyarrow.Table."""
        pa = require("pyarrow")
        return pa.table(self.to_dict())

    def __repr__(self) -> str:
        return f"<StatsTable {self.title!r}: {len(self)} rows x {len(self._cols)} columns>"
