"""User-facing entry points: the ``kubeai`` command line, the HTTP API and the web chat."""

__all__: list[str] = []
