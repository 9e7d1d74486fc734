"""Sources, normalisation, dedup, tickers, publisher, archive and replay."""
