"""Sources, normalisation, dedup, tickers, poller, archive and replay."""
