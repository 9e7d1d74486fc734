"""Ticker extraction: cashtags, exchange-prefixed symbols and company names (pure).

Three ways a ticker is found in a headline or post:

- **cashtags**: ``$AAPL``, ``$BRK.B``, ``$BTC.X`` (StockTwits' crypto style), ``$gme``;
  money amounts (``$5``, ``$1.2bn``, ``$100M``) never match because a cashtag starts with a
  letter, and ``US$``/``C$`` prefixes are not cashtags. A cashtag of a symbol the shipped
  list knows only as a crypto asset (``$BTC``) becomes the crypto form (``BTC.X``).
- **exchange-prefixed**: ``NASDAQ:AAPL``, ``(NYSE: JPM)``; non-US exchanges get the usual
  suffix (``LON:BARC`` -> ``BARC.L``, ``ETR:SIE`` -> ``SIE.DE``, ``WSE:PKO`` -> ``PKO.WA``).
- **company names** from ``ingest/data/tickers.csv``, matched case-sensitively on whole
  tokens ("Coinbase", "Bank of America", "J.P. Morgan"). Names that are also everyday
  words ("Apple", "Visa", "Ford") are marked ambiguous in the list; a one-word ambiguous
  name only counts when the text also has a market cue (shares, stock, earnings, Inc, ...),
  so "Apple pie recipe" yields nothing while "Apple shares fall" yields AAPL.

Bare upper-case symbols (``AAPL`` without ``$``) are not matched: too many tickers are
English words (A, IT, ALL, ON, NOW) or acronyms; they count only as cashtags or with an
exchange prefix. Rows without a ticker (private companies such as FTX, Binance, BlockFi)
document the names deliberately left unmapped and produce nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

_CASHTAG_RE = re.compile(
    r"(?<![\w$])\$([A-Za-z]{1,6}(?:[.\-][A-Za-z]{1,2})?)(?![\w$])"
    # "$BTC.X": the ".X" form; the negative look-ahead keeps "$AAPL." at a sentence end fine.
)
_EXCHANGE_RE = re.compile(
    r"\b(NASDAQ|Nasdaq|NYSE|NYSEARCA|NYSEAMERICAN|NYSEMKT|AMEX|BATS|OTC|OTCMKTS|LON|LSE|ETR|"
    r"XETRA|FRA|EPA|AMS|BIT|BME|SWX|WSE|GPW|TSX|ASX|HKEX|TYO|TSE)\s?:\s?"
    r"([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)\b"
)
_US_EXCHANGES = frozenset(
    {"NASDAQ", "NYSE", "NYSEARCA", "NYSEAMERICAN", "NYSEMKT", "AMEX", "BATS", "OTC", "OTCMKTS"}
)
_EXCHANGE_SUFFIX = {
    "LON": "L",
    "LSE": "L",
    "ETR": "DE",
    "XETRA": "DE",
    "FRA": "F",
    "EPA": "PA",
    "AMS": "AS",
    "BIT": "MI",
    "BME": "MC",
    "SWX": "SW",
    "WSE": "WA",
    "GPW": "WA",
    "TSX": "TO",
    "ASX": "AX",
    "HKEX": "HK",
    "TYO": "T",
    "TSE": "T",
}
# Cashtags that are really currencies or slang, not instruments.
_CASHTAG_STOP = frozenset({"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "CNY", "K", "M", "B"})
_TOKEN_RE = re.compile(r"&|\w+(?:[.&\-]\w+)*")
_CUE_RE = re.compile(
    r"\b(?:shares?|stocks?|Inc|Corp|Corporation|Co|plc|NYSE|NASDAQ|Nasdaq|earnings|revenue|"
    r"profit|sales|quarter|quarterly|investors?|analysts?|CEO|CFO|market|valuation|IPO|"
    r"dividend|buyback|guidance|results|layoffs|acquisition|deal|merger|stake|lawsuit|"
    r"antitrust|regulators?|downgrade|upgrade|price target|traders?|rall(?:y|ies)|"
    r"tumbles?|plunges?|soars?|slumps?|surges?|iPhone|Vision Pro|App Store|cards?|"
    r"payments?|Cloud|cloud)\b"
)


@dataclass(frozen=True)
class _Name:
    tokens: tuple[str, ...]
    ticker: str
    needs_cue: bool


@dataclass
class TickerIndex:
    """Name/alias index built from a name->ticker list; :meth:`extract` is pure."""

    names: dict[str, list[_Name]] = field(default_factory=dict)
    crypto: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, str]]) -> TickerIndex:
        names: dict[str, list[_Name]] = {}
        crypto: set[str] = set()
        known: set[str] = set()
        for row in rows:
            ticker = (row.get("ticker") or "").strip().upper()
            if not ticker:
                continue  # documented as deliberately unmapped (private company, exchange)
            known.add(ticker)
            if (row.get("type") or "").strip() == "crypto":
                crypto.add(ticker.removesuffix(".X"))
            ambiguous = (row.get("ambiguous") or "0").strip() == "1"
            aliases = [row.get("name") or "", *(row.get("aliases") or "").split("|")]
            for alias in aliases:
                tokens = tuple(_TOKEN_RE.findall(alias.strip()))
                if not tokens:
                    continue
                entry = _Name(tokens, ticker, needs_cue=ambiguous and len(tokens) == 1)
                names.setdefault(tokens[0], []).append(entry)
        for entries in names.values():
            entries.sort(key=lambda n: -len(n.tokens))  # longest name first
        return cls(names=names, crypto=frozenset(crypto), known=frozenset(known))

    @classmethod
    def from_csv(cls, path: str | Path) -> TickerIndex:
        with open(path, newline="", encoding="utf-8") as fh:
            return cls.from_rows(csv.DictReader(fh))

    def extract(self, text: str) -> list[str]:
        """Sorted, unique tickers found in ``text``."""
        if not text:
            return []
        found: set[str] = set()
        for m in _CASHTAG_RE.finditer(text):
            sym = m.group(1)
            if sym.islower() and len(sym) < 2:
                continue
            sym = sym.upper()
            if sym in _CASHTAG_STOP:
                continue
            if "." not in sym and sym in self.crypto and sym not in self.known:
                sym = f"{sym}.X"
            found.add(sym)
        for m in _EXCHANGE_RE.finditer(text):
            exchange, sym = m.group(1).upper(), m.group(2)
            if exchange in _US_EXCHANGES or "." in sym:
                found.add(sym)
            else:
                found.add(f"{sym}.{_EXCHANGE_SUFFIX[exchange]}")
        if self.names:
            found.update(self._names_in(text))
        return sorted(found)

    def _names_in(self, text: str) -> set[str]:
        tokens = _TOKEN_RE.findall(text)
        out: set[str] = set()
        cue: bool | None = None
        i = 0
        while i < len(tokens):
            entries = self.names.get(tokens[i])
            step = 1
            if entries:
                for entry in entries:
                    n = len(entry.tokens)
                    if tuple(tokens[i : i + n]) != entry.tokens:
                        continue
                    if entry.needs_cue:
                        if cue is None:
                            cue = _CUE_RE.search(text) is not None
                        if not cue:
                            continue
                    out.add(entry.ticker)
                    step = n
                    break
            i += step
        return out


def data_path() -> Path:
    return Path(str(resources.files("ingest") / "data" / "tickers.csv"))


@cache
def default_index() -> TickerIndex:
    """The index built from the shipped ``ingest/data/tickers.csv`` (loaded once)."""
    return TickerIndex.from_csv(data_path())


def extract_tickers(text: str) -> list[str]:
    return default_index().extract(text)
