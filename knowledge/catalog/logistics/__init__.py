"""The packaged logistics catalog (``catalog.yaml``) over the warehouse ``knowledge.warehouse.logistics`` generates."""

__all__: list[str] = []
