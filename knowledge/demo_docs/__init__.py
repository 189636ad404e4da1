"""Demo business documents of Qinghe Select (青禾优选), the demo e-commerce company, for RAG ingestion.

Chinese and English Markdown, one HTML page and one plain text file. Ingest them with
``kubeai knowledge ingest knowledge/demo_docs`` (or :data:`DEMO_DOCS`); ``evals/datasets/docqa`` asks
questions about them.
"""

from pathlib import Path

__all__ = ["DEMO_DOCS"]

DEMO_DOCS = Path(__file__).resolve().parent
"""The folder holding the demo documents."""
