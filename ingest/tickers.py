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
exchange prefix.

**Entities.** Rows without a ticker are companies with no listed instrument that still matter
to a risk team (crypto exchanges and lenders such as FTX, Binance, Celsius, BlockFi; a few
private fintechs). Their names never produce a ticker (inventing one would put the exchange
FTX in the FTT token's ticker scope); :meth:`TickerIndex.entities` returns the row's name
instead, and the document counts in the entity's sector. An ambiguous entity name of the
crypto sector ("Kraken", "Gemini", "Genesis", "Celsius") needs a *crypto* cue (crypto, token,
exchange, withdrawals, ...), so the Seattle Kraken and 30 Celsius stay out.

**Sectors.** Every row has a ``sector`` (:data:`SECTORS`: the eleven GICS sectors, plus
``crypto`` for crypto assets and companies whose business is crypto, and ``funds`` for broad
ETFs). :meth:`TickerIndex.sector_lookup` gives the ticker -> sector and entity -> sector tables
the windowing uses for ``sector:`` scopes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from foundation.schemas import Document
from foundation.sectors import SectorLookup

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
    r"payments?|Cloud|cloud|"
    # Labour news is company news: "Amazon to cut 10,000 jobs", "Meta lays off 11,000".
    r"(?i:jobs?|job cuts|lay(?:s|ing)? off|laid off|layoffs?|employees|workers|staff|"
    r"workforce|hiring))\b"
)
# For ambiguous names of the crypto sector: the market cues above are not enough ("Kraken
# rally" is hockey), so these need words of the crypto trade.
_CRYPTO_CUE_RE = re.compile(
    r"\b(?:crypto\w*|bitcoin|btc|ether|ethereum|tokens?|coins?|stablecoins?|blockchain|"
    r"exchanges?|lenders?|lending|withdrawals?|deposits?|custody|bankrupt\w*|insolven\w*|"
    r"Chapter 11|DeFi|NFTs?|Bankman-Fried|FTX|Binance|wallets?|digital assets?)\b",
    re.IGNORECASE,
)

# GICS sectors (snake_case) plus crypto and broad funds; the `sector` column takes these.
SECTORS: tuple[str, ...] = (
    "communication_services",
    "consumer_discretionary",
    "consumer_staples",
    "crypto",
    "energy",
    "financials",
    "funds",
    "health_care",
    "industrials",
    "materials",
    "real_estate",
    "technology",
    "utilities",
)


@dataclass(frozen=True)
class _Name:
    tokens: tuple[str, ...]
    ticker: str  # "" for an entity (a row without a ticker)
    needs_cue: bool
    entity: str = ""
    crypto_cue: bool = False


@dataclass
class TickerIndex:
    """Name/alias index built from a name->ticker list; :meth:`extract` and
    :meth:`entities` are pure."""

    names: dict[str, list[_Name]] = field(default_factory=dict)
    crypto: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()
    sectors: dict[str, str] = field(default_factory=dict)  # ticker -> sector
    entity_sectors: dict[str, str] = field(default_factory=dict)  # entity name -> sector

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, str]]) -> TickerIndex:
        names: dict[str, list[_Name]] = {}
        crypto: set[str] = set()
        known: set[str] = set()
        sectors: dict[str, str] = {}
        entity_sectors: dict[str, str] = {}
        for row in rows:
            ticker = (row.get("ticker") or "").strip().upper()
            name = (row.get("name") or "").strip()
            sector = (row.get("sector") or "").strip()
            if sector and sector not in SECTORS:
                raise ValueError(f"unknown sector {sector!r} for {ticker or name!r}")
            entity = ""
            if not ticker:
                if not sector or not name:
                    continue  # a name deliberately left unmapped
                entity = name
                entity_sectors[entity] = sector
            else:
                known.add(ticker)
                if sector:
                    sectors[ticker] = sector
            if (row.get("type") or "").strip() == "crypto":
                crypto.add(ticker.removesuffix(".X"))
            ambiguous = (row.get("ambiguous") or "0").strip() == "1"
            aliases = [name, *(row.get("aliases") or "").split("|")]
            for alias in aliases:
                tokens = tuple(_TOKEN_RE.findall(alias.strip()))
                if not tokens:
                    continue
                entry = _Name(
                    tokens,
                    ticker,
                    needs_cue=ambiguous and len(tokens) == 1,
                    entity=entity,
                    crypto_cue=sector == "crypto",
                )
                names.setdefault(tokens[0], []).append(entry)
        for entries in names.values():
            entries.sort(key=lambda n: -len(n.tokens))  # longest name first
        return cls(
            names=names,
            crypto=frozenset(crypto),
            known=frozenset(known),
            sectors=sectors,
            entity_sectors=entity_sectors,
        )

    def name_tokens(self) -> frozenset[str]:
        """Lower-cased tokens of every listed name and alias: the pipeline never takes these
        for emerging entities (the names have scopes of their own)."""
        return frozenset(
            t.lower() for entries in self.names.values() for n in entries for t in n.tokens
        )

    def sector_lookup(self) -> SectorLookup:
        """Ticker -> sector and entity -> sector, for ``sector:`` scopes in the windowing."""
        return SectorLookup(tickers=dict(self.sectors), entities=dict(self.entity_sectors))

    @classmethod
    def from_csv(cls, path: str | Path) -> TickerIndex:
        with open(path, newline="", encoding="utf-8") as fh:
            return cls.from_rows(csv.DictReader(fh))

    def extract(self, text: str) -> list[str]:
        """Sorted, unique tickers found in ``text``."""
        return self.scan(text)[0]

    def entities(self, text: str) -> list[str]:
        """Sorted, unique entity names (rows without a ticker) mentioned in ``text``."""
        return self.scan(text)[1]

    def scan(self, text: str) -> tuple[list[str], list[str]]:
        """(tickers, entities) of ``text``, both sorted and unique, in one pass over its names."""
        if not text:
            return [], []
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
        entities: set[str] = set()
        if self.names:
            for n in self._names_in(text):
                if n.ticker:
                    found.add(n.ticker)
                elif n.entity:
                    entities.add(n.entity)
        return sorted(found), sorted(entities)

    def _names_in(self, text: str) -> set[_Name]:
        tokens = _TOKEN_RE.findall(text)
        out = self._match(tokens, text)
        if any("-" in t for t in tokens):
            # Names inside hyphenated compounds ("Twitter-Elon Musk timeline", "FTX-linked"):
            # a second pass over the parts; the whole tokens matched first, so a hyphenated
            # name ("Sam Bankman-Fried", "Rolls-Royce") is still found as itself.
            parts = [p for t in tokens for p in (t.split("-") if "-" in t else (t,)) if p]
            out |= self._match(parts, text)
        return out

    def _match(self, tokens: list[str], text: str) -> set[_Name]:
        out: set[_Name] = set()
        cues: dict[bool, bool] = {}
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
                        kind = entry.crypto_cue
                        if kind not in cues:
                            rx = _CRYPTO_CUE_RE if kind else _CUE_RE
                            cues[kind] = rx.search(text) is not None
                        if not cues[kind]:
                            continue
                    out.add(entry)
                    step = n
                    break
            i += step
        return out


def data_path() -> Path:
    return Path(str(resources.files("ingest") / "data" / "tickers.csv"))


def entities_path() -> Path:
    """The larger name -> entity list (banks, exchanges, crypto firms, big companies without a
    ticker in tickers.csv); same columns, ticker empty. Documented in docs/ingest.md."""
    return Path(str(resources.files("ingest") / "data" / "entities.csv"))


@cache
def default_index() -> TickerIndex:
    """The index built from the shipped ``ingest/data/tickers.csv`` and
    ``ingest/data/entities.csv`` (loaded once)."""
    rows: list[dict[str, str]] = []
    for path in (data_path(), entities_path()):
        with open(path, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return TickerIndex.from_rows(rows)


def extract_tickers(text: str) -> list[str]:
    return default_index().extract(text)


def default_sector_lookup() -> SectorLookup:
    """Sector tables of the shipped list (the stream worker and the backtest pass this to
    :class:`monitor.core.pipeline.AlertPipeline`)."""
    return default_index().sector_lookup()


def tag_document(doc: Document, index: TickerIndex | None = None) -> Document:
    """``doc`` with the tickers and entities ingest would give it: the union of what it
    carries and what ``index`` finds in ``title + "\n" + summary`` (as
    :func:`ingest.normalize.normalize` does). Used for archived documents, which may predate
    the current list or carry no tickers at all; a document needing nothing is returned as
    is."""
    index = index if index is not None else default_index()
    found, named = index.scan(f"{doc.title}\n{doc.summary}")
    tickers = tuple(sorted(set(doc.tickers) | set(found)))
    entities = tuple(sorted(set(doc.entities) | set(named)))
    if tickers == doc.tickers and entities == doc.entities:
        return doc
    return doc.model_copy(update={"tickers": tickers, "entities": entities})
