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
from typing import Any

import typer

from app import runtime
from app.cli._context import config as load
from kubeai.config import ProjectConfig
from kubeai.errors import ModelServerError, ModelServerUnavailableError
from serving.adapters import Activation, AdapterVersion, activate, roll_back
from serving.client import ModelClient
from serving.launcher import VLLMServer

__all__ = ["register", "server_if_needed"]

adapters = typer.Typer(
    help="Load, unload and train LoRA adapters; list, promote and roll back trained versions.", no_args_is_help=True
)

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


@adapters.command("list")
def adapters_list(
    ctx: typer.Context,
    role: str | None = typer.Option(None, help="Only versions trained for this role, e.g. metrics:demo_ecommerce."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the trained adapter versions in data_dir/adapters, newest first, with their gate and routes."""
    store = runtime.adapter_store(load(ctx))
    current = store.current()
    rows = [_version_row(v, current) for v in store.versions(role)]
    if as_json:
        typer.echo(json.dumps({"root": str(store.root), "versions": rows}, ensure_ascii=False))
        return
    if not rows:
        typer.echo(f"No adapter versions in {store.root}{f' for role {role!r}' if role else ''}.")
        return
    typer.echo(f"{'':2}{'name':<28} {'role':<28} {'created':<16} {'gate':<7} {'candidate':>9} {'incumbent':>9}")
    for row in rows:
        mark = "*" if row["active_for"] else ""
        typer.echo(
            f"{mark:<2}{row['name']:<28} {row['role'] or '-':<28} {row['created'][:16].replace('T', ' '):<16} "
            f"{_gate_word(row['gate_passed']):<7} {_figure(row['candidate_accuracy']):>9} "
            f"{_figure(row['incumbent_accuracy']):>9}"
        )
    typer.echo("* serves its role now (routes.json)")


@adapters.command("promote")
def adapters_promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The version to serve (a folder in data_dir/adapters)."),
    role: str | None = typer.Option(None, help="The role it serves (default: the role in its card)."),
    force: bool = typer.Option(False, "--force", help="Promote even though its eval gate did not pass."),
) -> None:
    """Serve a trained version for its role: hot-load it into the running server, then route the role to it."""
    cfg = load(ctx)
    store = runtime.adapter_store(cfg)
    client = runtime.model_client(cfg)
    done = asyncio.run(
        activate(store, name, client=client, role=role, force=force, max_lora_rank=cfg.serving.max_lora_rank)
    )
    typer.echo(f"promoted {done.version.name} for {done.role}")
    _say_loaded(done, client.base_url)


@adapters.command("rollback")
def adapters_rollback(
    ctx: typer.Context, role: str = typer.Argument(..., help="The role, e.g. metrics:demo_ecommerce.")
) -> None:
    """Serve a role's previously promoted version again (hot-loaded into the running server if there is one)."""
    cfg = load(ctx)
    client = runtime.model_client(cfg)
    done = asyncio.run(roll_back(runtime.adapter_store(cfg), role, client=client))
    typer.echo(f"rolled {done.role} back to {done.version.name}")
    _say_loaded(done, client.base_url)


def _say_loaded(done: Activation, base_url: str) -> None:
    if done.loaded:
        typer.echo(f"hot-loaded {done.version.name} into the server at {base_url}")
    else:
        typer.echo(f"no server at {base_url}; `kubeai serve` loads {done.version.name} when it starts")


def _version_row(version: AdapterVersion, current: dict[str, str]) -> dict[str, Any]:
    gate = version.card.get("gate")
    return {
        "name": version.name,
        "role": version.role,
        "created": version.created.isoformat(),
        "gate_passed": version.gate_passed,
        "candidate_accuracy": _accuracy(gate, "candidate"),
        "incumbent_accuracy": _accuracy(gate, "incumbent"),
        "active_for": sorted(role for role, name in current.items() if name == version.name),
        "path": str(version.path),
    }


def _accuracy(gate: object, side: str) -> float | None:
    figures = gate.get(side) if isinstance(gate, dict) else None
    value = figures.get("accuracy") if isinstance(figures, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _gate_word(passed: bool | None) -> str:
    return "-" if passed is None else ("passed" if passed else "failed")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


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
