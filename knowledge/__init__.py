"""Knowledge: the metric catalog, embeddings, vector stores, document ingestion and the knowledge base."""
