"""One module per page: ``layout(...)`` builds it, ``data(...)`` computes what its callback
returns (also timed by bench/dashboard.py), ``register(app, ctx)`` wires the callbacks."""
