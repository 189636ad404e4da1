"""Tracing set up from ``observability``: the local trace store, OTLP export, and the HTTP API's request spans.

The CLI and the HTTP API call :func:`configure` once, at the top; the layers below only use OpenTelemetry's API
(:mod:`kubeai.tracing`), which records nothing until then. Spans go, in batches from a background thread, to the
local store (``<data_dir>/traces.sqlite``, read by ``kubeai traces``) and to an OTLP collector when
``observability.otlp_endpoint`` is set.

OpenTelemetry lets a process set its global tracer provider once. This module sets a small switch as that provider
and points it at the SDK provider of the configuration in force, so a second configuration in one process (a test,
an app built twice) replaces the first instead of being ignored. A process whose global provider was set by
someone else (``opentelemetry-instrument``) keeps it: the store and exporter are added to it when it is the SDK's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span

from app.trace_store import STORE_FILE, SqliteSpanExporter
from kubeai import __version__
from kubeai.config import ObservabilityConfig, ProjectConfig

__all__ = ["Tracing", "active", "configure", "otlp_exporter", "store_path"]

log = logging.getLogger("kubeai.traces")


def store_path(config: ProjectConfig) -> Path:
    """Where the local trace store lives: ``<data_dir>/traces.sqlite``."""
    return config.data_dir / STORE_FILE


@dataclass(kw_only=True)
class Tracing:
    """The tracing a :func:`configure` call set up; :meth:`close` flushes and removes it."""

    processors: tuple[SpanProcessor, ...]
    provider: TracerProvider | None = None
    store: Path | None = None
    _closed: bool = field(default=False, repr=False)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write every finished span now (the store and the collector); ``False`` if that timed out."""
        return all(p.force_flush(int(timeout_s * 1000)) for p in self.processors)

    def close(self) -> None:
        """Flush, shut the exporters down, and stop recording spans (when this is the configuration in force)."""
        if self._closed:
            return
        self._closed = True
        if self.provider is not None and _SWITCH.current is self.provider:
            _SWITCH.current = None
        for processor in self.processors:
            processor.shutdown()


def configure(config: ProjectConfig, *, also: Sequence[SpanExporter] = ()) -> Tracing | None:
    """Record spans as ``config.observability`` says; ``None`` when it says to keep nothing.

    Nothing is written until a span ends: the store's file is created by its first batch.

    Args:
        config: The project configuration (``observability``, and ``data_dir`` for the store).
        also: More exporters to send spans to (a console exporter, a test's in-memory exporter).
    """
    settings = config.observability
    exporters: list[SpanExporter] = list(also)
    store = store_path(config) if settings.traces_store else None
    if store is not None:
        exporters.append(SqliteSpanExporter(store, max_runs=settings.max_runs))
    if settings.otlp_endpoint is not None:
        exporters.append(otlp_exporter(settings))
    if not exporters:
        return None
    processors = tuple(BatchSpanProcessor(e) for e in exporters)
    installed = _install()
    if installed is not _SWITCH:
        if isinstance(installed, TracerProvider):
            for processor in processors:
                installed.add_span_processor(processor)
        else:
            log.warning("Another tracer provider is in use; kubeai's spans go to it, not to the trace store.")
        return Tracing(processors=processors, store=store)
    resource = Resource.create({"service.name": settings.service_name, "service.version": __version__})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for processor in processors:
        provider.add_span_processor(processor)
    _SWITCH.current = provider  # a configuration still in force is replaced; its owner still closes it
    return Tracing(processors=processors, provider=provider, store=store)


def active() -> bool:
    """Whether a configuration is in force in this process (the CLI's, when ``kubeai api`` builds the app)."""
    return _SWITCH.current is not None


def otlp_exporter(settings: ObservabilityConfig) -> SpanExporter:
    """The OTLP span exporter for ``otlp_endpoint`` over ``otlp_protocol``.

    For ``http/protobuf``, ``/v1/traces`` is added to an endpoint given without a path (``http://host:4318``).
    """
    endpoint = settings.otlp_endpoint
    assert endpoint is not None, "only called when an endpoint is configured"
    headers = dict(settings.otlp_headers)
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"), headers=headers)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if urlsplit(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return HttpExporter(endpoint=endpoint, headers=headers)


class _SwitchTracer(trace.Tracer):
    """A tracer that starts its spans on the switch's current provider (or records nothing)."""

    def __init__(self, name: str, version: str | None, schema_url: str | None, attributes: Any) -> None:
        self._scope = (name, version, schema_url, attributes)
        self._cache: tuple[TracerProvider, trace.Tracer] | None = None

    def _tracer(self) -> trace.Tracer:
        provider = _SWITCH.current
        if provider is None:
            return trace.NoOpTracer()
        if self._cache is None or self._cache[0] is not provider:
            name, version, schema_url, attributes = self._scope
            self._cache = (provider, provider.get_tracer(name, version, schema_url, attributes))
        return self._cache[1]

    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        """Start a span on the provider in force."""
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        """Start a span on the provider in force, current while the ``with`` block runs."""
        return self._tracer().start_as_current_span(*args, **kwargs)


class _Switch(trace.TracerProvider):
    """The process's global tracer provider: hands out tracers that follow :attr:`current`."""

    def __init__(self) -> None:
        self.current: TracerProvider | None = None

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> trace.Tracer:
        """A tracer for the named scope that follows the configuration in force."""
        return _SwitchTracer(instrumenting_module_name, instrumenting_library_version, schema_url, attributes)


_SWITCH = _Switch()


def _install() -> trace.TracerProvider:
    """Set the switch as the global tracer provider unless another provider was set; the global provider."""
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(_SWITCH)
        current = trace.get_tracer_provider()
    return current
