"""``kubeai knowledge``: ingest documents for RAG, search them, show store statistics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, runtime_checkable

import typer

from app.cli import _context
from app.cli._progress import progress_display

if TYPE_CHECKING:
    from knowledge.index import KnowledgeBase
    from knowledge.stores.base import Hit
    from kubeai.config import ProjectConfig

__all__ = ["app"]

app = typer.Typer(help="Ingest documents into the knowledge base and search it.", no_args_is_help=True)

_SNIPPET_CHARS = 300


@runtime_checkable
class _ListsCollections(Protocol):
    def collections(self) -> Mapping[str, int]: ...


def _open(config: ProjectConfig) -> KnowledgeBase:
    from knowledge.index import open_knowledge_base

    return open_knowledge_base(embeddings=config.embeddings, store=config.vector_store, data_dir=config.data_dir)


def _display(source: str) -> str:
    path = Path(source)
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return source


def _store_location(config: ProjectConfig) -> str:
    from knowledge.stores import DEFAULT_FILE_NAME

    store = config.vector_store
    if store.backend == "weaviate":
        return f"weaviate at {store.url}"
    path = store.path if store.path is not None else Path(DEFAULT_FILE_NAME)
    return f"embedded at {config.resolve(path)}"


@app.command()
def ingest(
    ctx: typer.Context,
    *,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (.md, .txt, .html, .pdf).")],
    collection: Annotated[str, typer.Option(help="Collection to write to.")] = "docs",
    chunk_size: Annotated[int, typer.Option(help="Most characters of text per chunk.")] = 600,
    overlap: Annotated[int, typer.Option(help="Most characters repeated from the previous chunk.")] = 100,
    max_file_mb: Annotated[
        float | None, typer.Option(min=0.001, help="Refuse larger files (default: ingest.max_file_mb, 32).")
    ] = None,
    progress: Annotated[
        bool, typer.Option(help="Show progress on stderr: a bar on a terminal, a line every 10 s otherwise.")
    ] = True,
) -> None:
    """Ingest documents; unchanged ones are skipped, changed ones replaced, removed ones deleted.

    Exits with status 1 if any document failed; the others are still ingested.
    """
    from knowledge.ingest import ChunkingConfig
    from knowledge.ingest import ingest as run_ingest

    chunking = ChunkingConfig(size=chunk_size, overlap=overlap)
    config = _context.config(ctx)
    limit = int((max_file_mb or config.ingest.max_file_mb) * 2**20)
    with _open(config) as kb, progress_display(enabled=progress) as shown:
        report = run_ingest(kb, collection, paths, chunking=chunking, progress=shown, max_file_bytes=limit)
    for mark, sources in (("+", report.added), ("~", report.updated), ("-", report.deleted)):
        for source in sources:
            typer.echo(f"{mark} {_display(source)}")
    for failure in report.failed:
        typer.secho(f"! {_display(failure.source)}: {failure.reason}", err=True, fg=typer.colors.RED)
    typer.echo(
        f"{collection}: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.deleted)} deleted, {len(report.failed)} failed "
        f"({report.chunks_written} chunks written, {report.chunks_deleted} deleted)."
    )
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def search(
    ctx: typer.Context,
    *,
    query: Annotated[str, typer.Argument(help="The question or keywords.")],
    k: Annotated[int, typer.Option("-k", help="How many chunks to show.")] = 5,
    alpha: Annotated[float, typer.Option(help="1.0 vector ranking only, 0.0 keyword only.")] = 0.5,
    collection: Annotated[str, typer.Option(help="Collection to search.")] = "docs",
    full: Annotated[bool, typer.Option(help="Print whole chunks, not their first 300 characters.")] = False,
) -> None:
    """Search ingested documents and print the best chunks with their source and heading."""
    config = _context.config(ctx)
    with _open(config) as kb:
        hits = kb.search(collection, query, k=k, alpha=alpha)
    if not hits:
        typer.echo(f"No results in collection {collection!r}; add documents with `kubeai knowledge ingest`.")
        return
    for rank, hit in enumerate(hits, start=1):
        typer.echo(_format_hit(rank, hit, full=full))


def _format_hit(rank: int, hit: Hit, *, full: bool) -> str:
    meta = hit.metadata
    source = meta.get("source")
    where = _display(source) if isinstance(source, str) else hit.id
    heading = meta.get("heading") or meta.get("title") or ""
    page = meta.get("page")
    location = f"{where} › {heading}" if heading else where
    if isinstance(page, int) and not isinstance(page, bool):
        location += f" (p. {page})"
    # The stored text starts with a context line (title and headings) already shown in the header.
    body = hit.text.split("\n", 1)[1] if "source" in meta and "\n" in hit.text else hit.text
    body = body.strip()
    if not full and len(body) > _SNIPPET_CHARS:
        body = body[:_SNIPPET_CHARS].rstrip() + " …"
    indented = "\n".join(f"    {line}" if line.strip() else "" for line in body.splitlines())
    return f"{rank}. [{hit.score:.3f}] {location}\n{indented}"


@app.command()
def stats(
    ctx: typer.Context,
    *,
    collection: Annotated[
        list[str] | None,
        typer.Option(help="Collections to count (default: all the store lists, else docs)."),
    ] = None,
) -> None:
    """Show the store's backend and location, and documents and chunks per collection."""
    from knowledge.ingest import stored_documents

    config = _context.config(ctx)
    typer.echo(f"store: {_store_location(config)}")
    typer.echo(f"embeddings: {config.embeddings.provider} {config.embeddings.model}")
    with _open(config) as kb:
        store = kb.store
        counts: Mapping[str, int] = store.collections() if isinstance(store, _ListsCollections) else {}
        names = collection or sorted(counts) or ["docs"]
        rows = []
        for name in names:
            chunks = counts[name] if name in counts else len(kb.get(name))
            documents = len({d.source for d in stored_documents(kb, name)})
            rows.append((name, documents, chunks))
    width = max(len("collection"), *(len(name) for name, _, _ in rows))
    typer.echo(f"{'collection':<{width}}  {'documents':>9}  {'chunks':>7}")
    for name, documents, chunks in rows:
        typer.echo(f"{name:<{width}}  {documents:>9}  {chunks:>7}")
