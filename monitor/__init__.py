"""finpulse stream application: settings, schemas, broker, Faust app, windows, alerts, store."""

__version__ = "0.1.0"
