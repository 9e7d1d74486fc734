"""The runtime: the demo supervisor that runs the whole stack on one machine."""
