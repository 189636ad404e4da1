"""Texts the HTTP API writes into answers (YAML data, English and Chinese)."""
