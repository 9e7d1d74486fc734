"""The finpulse command line, on top of every package."""
