"""One way the app's small SQLite stores (API keys, the API's thread registry) open their file.

The helper lives in :mod:`kubeai.sqlite`, the lowest layer, so that the feedback store ``finetune`` reads opens its
file the same way; this module keeps the app's imports unchanged.
"""

from __future__ import annotations

from kubeai.sqlite import connect

__all__ = ["connect"]
