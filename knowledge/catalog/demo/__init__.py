"""The packaged demo catalog (``catalog.yaml``) over the warehouse ``kubeai warehouse build-demo`` generates."""

__all__: list[str] = []
