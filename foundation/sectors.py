"""Sector lookup: a plain value the tickers table builds (ingest) and the windowing reads
(monitor), so it lives below both."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SectorLookup:
    """Ticker -> sector and entity name -> sector. A ticker the table does not know but in
    StockTwits' crypto form (``XYZ.X``) is ``crypto``; any other unknown one has no sector."""

    tickers: Mapping[str, str] = field(default_factory=dict)
    entities: Mapping[str, str] = field(default_factory=dict)

    def ticker_sector(self, ticker: str) -> str | None:
        sector = self.tickers.get(ticker)
        if sector is None and ticker.endswith(".X"):
            return "crypto"
        return sector

    def sectors(self, tickers: Iterable[str], entities: Iterable[str] = ()) -> list[str]:
        """Sorted, unique sectors of ``tickers`` (upper-cased) and ``entities``."""
        out = {self.ticker_sector(t.strip().upper()) for t in tickers if t.strip()}
        out |= {self.entities.get(e) for e in entities}
        return sorted(s for s in out if s)
