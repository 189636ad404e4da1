"""Model commands: ``kubeai prepare``, ``serve``, ``models``, ``compare`` and ``adapters ...``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import typer

from app import runtime
from app.cli._context import config as load
from kubeai.config import ProjectConfig
from kubeai.errors import ModelServerError, ModelServerUnavailableError
from serving.client import ModelClient
from serving.launcher import VLLMServer

__all__ = ["register", "server_if_needed"]

adapters = typer.Typer(help="Load, unload and train LoRA adapters.", no_args_is_help=True)

COMPARE_QUESTIONS = ("What does GMV mean?", "退款率是什么？")


def register(app: typer.Typer) -> None:
    """Add the model commands to the root CLI."""
    app.command("prepare")(prepare)
    app.command("serve")(serve)
    app.command("models")(models)
    app.command("compare")(compare)
    app.add_typer(adapters, name="adapters")


def prepare(
    ctx: typer.Context,
    retrain: bool = typer.Option(False, help="Train the default adapter again even if it exists."),
) -> None:
    """Convert the bundled base model and train the default LoRA adapter, once (cached in data_dir)."""
    cfg = load(ctx)
    prepared = runtime.prepare_models(cfg, retrain=retrain, progress=typer.echo)
    typer.echo(f"ready: base model in {prepared.base_dir}")
    for adapter in cfg.models.adapters:
        typer.echo(f"ready: adapter {adapter.name} in {adapter.path}")


def serve(
    ctx: typer.Context,
    port: int | None = typer.Option(None, help="Port to listen on (default: serving.port)."),
) -> None:
    """Start vLLM with the base model and every registered adapter; stop it with Ctrl-C."""
    cfg = load(ctx)
    server, plan = runtime.server_for(cfg, port=port, progress=typer.echo)
    typer.echo(f"starting vLLM ({plan.device}, context {plan.max_model_len} tokens); log: {server.log_path}")
    with _stop_on_sigterm():
        try:
            server.start()
            typer.echo(f"listening on {plan.base_url} (started in {server.started_in_s:.0f} s)")
            typer.echo(f"models: {', '.join(plan.served)}")
            typer.echo("press Ctrl-C to stop")
            while server.running():
                time.sleep(1.0)
            typer.echo(f"vLLM exited on its own; end of its log: {server.log_tail()}", err=True)
            raise typer.Exit(1)
        except KeyboardInterrupt:
            typer.echo("stopping vLLM")
        finally:
            server.stop()
    typer.echo("stopped")


def models(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List registered models with their cards, and whether the server at llm.base_url serves them."""
    cfg = load(ctx)
    registry = runtime.model_registry(cfg)
    client = runtime.model_client(cfg)
    try:
        served: set[str] | None = set(asyncio.run(client.models()))
    except ModelServerUnavailableError:
        served = None
    rows = [
        {
            "name": m.name,
            "kind": m.kind,
            "served": None if served is None else m.name in served,
            "languages": list(m.card.languages),
            "skills": list(m.card.skills),
            "description": m.card.description,
        }
        for m in registry
    ]
    extra = sorted((served or set()) - {m.name for m in registry})
    if as_json:
        typer.echo(json.dumps({"server": client.base_url, "models": rows, "unregistered": extra}, ensure_ascii=False))
        return
    typer.echo(f"server {client.base_url}: {'not reachable' if served is None else 'reachable'}")
    for m in registry:
        mark = "?" if served is None else ("served" if m.name in served else "not served")
        languages = ", ".join(m.card.languages)
        typer.echo(f"  {m.name:<20} {m.kind:<8} {mark:<11} [{languages}] {m.card.description}")
    for name in extra:
        typer.echo(f"  {name:<20} adapter  served      (loaded at run time, not in kubeai.yaml)")


@adapters.command("load")
def adapters_load(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name to serve the adapter under."),
    path: Path = typer.Argument(..., help="Directory holding a PEFT LoRA adapter (adapter_config.json)."),
) -> None:
    """Load a LoRA adapter into the running server (add it to kubeai.yaml to keep it across restarts)."""
    from serving.registry import read_adapter_rank

    cfg = load(ctx)
    rank = read_adapter_rank(path.resolve(), name=name)
    if rank > cfg.serving.max_lora_rank:
        raise typer.BadParameter(f"adapter rank {rank} exceeds serving.max_lora_rank={cfg.serving.max_lora_rank}")
    asyncio.run(runtime.model_client(cfg).load_adapter(name, path.resolve()))
    typer.echo(f"loaded {name} from {path.resolve()}")


@adapters.command("unload")
def adapters_unload(ctx: typer.Context, name: str = typer.Argument(..., help="Adapter name.")) -> None:
    """Unload a LoRA adapter from the running server."""
    asyncio.run(runtime.model_client(load(ctx)).unload_adapter(name))
    typer.echo(f"unloaded {name}")


@adapters.command("train-default")
def adapters_train_default(ctx: typer.Context) -> None:
    """Train (again) the default kubeai-style adapter from the examples shipped in finetune/data."""
    prepare(ctx, retrain=True)


def compare(
    ctx: typer.Context,
    question: list[str] = typer.Option(
        list(COMPARE_QUESTIONS), "--question", "-q", help="Question to ask (repeatable)."
    ),
) -> None:
    """Ask the base model and each adapter the same questions, side by side.

    Uses the server at llm.base_url if one answers; otherwise starts vLLM for the run and stops it afterwards.
    """
    cfg = load(ctx)
    client = runtime.model_client(cfg)
    names = [cfg.models.base.name, *(a.name for a in cfg.models.adapters)]
    with server_if_needed(cfg, client) as active:
        asyncio.run(_ask_each(active, question, names))


async def _ask_each(client: ModelClient, questions: list[str], names: list[str]) -> None:
    for text in questions:
        typer.echo(f"\nQ: {text}")
        for name in names:
            answer = await client.complete(text, model=name, max_tokens=96)
            typer.echo(f"[{name}] ({answer.latency_s:.1f} s, {answer.usage.completion_tokens} tokens)")
            typer.echo("  " + answer.text.strip().replace("\n", "\n  "))


@contextlib.contextmanager
def server_if_needed(cfg: ProjectConfig, client: ModelClient) -> Iterator[ModelClient]:
    """The client of the running server at llm.base_url, or of a vLLM started for the block and stopped after."""
    try:
        asyncio.run(client.models())
    except ModelServerError:
        pass
    else:
        typer.echo(f"using the running server at {client.base_url}")
        yield client
        return
    server: VLLMServer
    server, plan = runtime.server_for(cfg, progress=typer.echo)
    typer.echo(f"no server at {client.base_url}; starting vLLM for this run (log: {server.log_path})")
    with _stop_on_sigterm():
        try:
            server.start()
            typer.echo(f"vLLM ready in {server.started_in_s:.0f} s")
            yield runtime.model_client(cfg, base_url=plan.base_url)
        finally:
            server.stop()


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the server's process group is always stopped."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.stdout.flush()
