"""The monitor: the pure alerting core, the Faust stream shell, the backtest and the demo
runtime (docs/architecture.md)."""

__version__ = "0.1.0"
