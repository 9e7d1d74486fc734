"""The backtest: replay an archive through the same pipeline the worker runs."""
