"""One file per schema revision; ``0001`` is the schema of the first release."""
