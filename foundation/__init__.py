"""The bottom layer every package builds on: errors, settings, schemas, logs, paths, Kafka
helpers and the store (the only code that speaks SQL to its tables)."""
