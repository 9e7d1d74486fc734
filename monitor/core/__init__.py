"""The pure alerting core: windowing, detection, alert lifecycle, pipeline stages, payloads
and scoring (no I/O, no clock)."""
