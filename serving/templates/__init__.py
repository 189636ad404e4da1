"""Chat templates installed into converted model directories."""
