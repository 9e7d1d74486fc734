"""Kafka helpers: topic names, the embedded broker, the one publisher."""
