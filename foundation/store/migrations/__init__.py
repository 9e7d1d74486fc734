"""Alembic migrations of the store (env.py, versions/); driven by foundation.store.schema."""
