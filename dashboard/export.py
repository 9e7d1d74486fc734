"""``finpulse export``: documents, window stats or alerts to CSV or Parquet (pandas).

Rows come from :meth:`foundation.store.Store.export_rows` in time order and in batches, so
an export of a month never holds the month in memory. Lists and mappings (tickers,
probabilities, an alert's payload) are written as JSON text, the same in both formats; times
are UTC (ISO 8601 with ``Z`` in CSV, timezone-aware timestamps in Parquet). The columns and
their types come from the store's table, so an empty export still has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from foundation.errors import ConfigError

Format = Literal["csv", "parquet"]


def parse_scope(value: str | None) -> tuple[str, str] | None:
    """``kind:name`` (``topic:financials``, ``ticker:AAPL``) or None."""
    if not value:
        return None
    kind, sep, name = value.partition(":")
    if not sep or not kind or not name:
        raise ConfigError(f"--scope {value!r}: expected KIND:NAME, e.g. topic:financials")
    return kind, name


def _json(v: Any) -> str | None:
    return None if v is None else json.dumps(v, sort_keys=True, ensure_ascii=False)


def frame(rows: list[dict[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    """Rows as a frame with the export's columns in order, JSON columns as text."""
    df = pd.DataFrame(rows, columns=list(columns))
    for col, kind in columns.items():
        if kind == "json":
            df[col] = df[col].map(_json).astype("string")
        elif kind == "time":
            df[col] = pd.to_datetime(df[col], utc=True)
        elif kind == "str":
            df[col] = df[col].astype("string")
        elif kind == "int":
            df[col] = df[col].astype("Int64")
        elif kind == "float":
            df[col] = df[col].astype("Float64")
        elif kind == "bool":
            df[col] = df[col].astype("boolean")
    return df


def _arrow_schema(columns: Mapping[str, str]) -> Any:
    import pyarrow as pa

    types = {
        "str": pa.string(),
        "json": pa.string(),
        "time": pa.timestamp("us", tz="UTC"),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
    }
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def write_batches(
    batches: Iterable[list[dict[str, Any]]],
    columns: Mapping[str, str],
    path: str | Path,
    fmt: Format,
) -> int:
    """Write every batch to ``path`` (a header, or a schema, even when there are no rows);
    returns the rows written."""
    path = Path(path)
    n = 0
    if fmt == "csv":
        frame([], columns).to_csv(path, index=False)
        for rows in batches:
            df = frame(rows, columns)
            for col, kind in columns.items():
                if kind == "time":
                    df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            df.to_csv(path, mode="a", header=False, index=False)
            n += len(rows)
        return n
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema(columns)
    with pq.ParquetWriter(path, schema) as writer:
        for rows in batches:
            table = pa.Table.from_pandas(frame(rows, columns), preserve_index=False)
            writer.write_table(table.cast(schema))
            n += len(rows)
    return n
