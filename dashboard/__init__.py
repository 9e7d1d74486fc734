"""Dash app: pages, pure figure builders, store queries."""
