"""``kubeai cs``: the customer-service example, taken from a prompt to RAG to a LoRA adapter (docs/customer-service.md).

Note for the data/training half (W1, issue 16): this file was created by the assistant/eval half with the Typer
app and ``kubeai cs eval``; add ``data`` and ``train`` as further ``@app.command`` functions here. The app is
registered in ``app/cli/__init__.py`` as ``cs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli._context import config as load_project_config
from app.cli._context import model_client, note
from kubeai.config import ProjectConfig

__all__ = ["app"]

app = typer.Typer(
    help="Customer-service example: product docs and chat logs to pairs, a LoRA adapter, and the PROMPT / RAG / "
    "LoRA / RAG + LoRA comparison.",
    no_args_is_help=True,
)


@app.command("eval")
def evaluate(  # noqa: PLR0917 - Typer maps each CLI option to a parameter
    ctx: typer.Context,
    modes: Annotated[
        str, typer.Option(help="Comma-separated modes to compare: prompt, rag, lora, rag+lora.")
    ] = "prompt,rag,lora,rag+lora",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N questions (the CPU server is slow).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report folder (default: <data_dir>/customer_service/eval).", file_okay=False),
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=10, help="Passages retrieved per question in the RAG modes.")] = 3,
    max_tokens: Annotated[int, typer.Option(min=16, max=1024, help="The most tokens an answer may take.")] = 160,
    concurrency: Annotated[
        int, typer.Option(min=1, max=16, help="Questions in flight at once; latencies then include waiting.")
    ] = 1,
) -> None:
    """Ask the held-out customer questions in each mode, score the answers, print the table, write the report."""
    from agents.support import SupportConfig, parse_modes
    from app.support_eval import run_support_eval

    chosen = parse_modes(modes)
    config = load_project_config(ctx)
    run = run_support_eval(
        config,
        model_client(config),
        chosen,
        assistant=SupportConfig(k=k, max_tokens=max_tokens),
        limit=limit,
        concurrency=concurrency,
        out_dir=out,
        progress=note,
    )
    from evals.support import support_table

    typer.echo(support_table(run.result))
    typer.echo(f"\nreport: {run.markdown} and {run.json}")


@app.command("data")
def data(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the data (default: <data_dir>/customer_service).", file_okay=False)
    ] = None,
    logs: Annotated[
        Path | None, typer.Option(help="Chat logs JSONL (default: the shipped AeroPure 3 logs).", dir_okay=False)
    ] = None,
    docs: Annotated[
        Path | None, typer.Option(help="Folder of *_en.md / *_zh.md product documents (default: shipped).")
    ] = None,
) -> None:
    """Clean the chat logs, synthesize question-answer pairs from the docs and logs, print what each stage did.

    Writes pairs.jsonl, train.jsonl (the LoRA trainer's chat format) and data_report.json. With finetune.teacher
    configured, a teacher model proposes more questions and replies per document section, each checked against
    the documents; without one, questions are templates around the FAQ questions and manual headings.
    """
    from evals.dataset import eval_questions
    from finetune.chatlogs import load_chats, shipped_chats_path
    from finetune.support_docs import load_sections, shipped_docs_path
    from finetune.support_pairs import build_support_data, write_support_data

    config = load_project_config(ctx)
    teacher = None
    if config.finetune.teacher is not None:
        from finetune.support_teacher import question_teacher

        teacher = question_teacher(config.finetune.teacher, seed=config.finetune.seed)
        note(f"teacher: {config.finetune.teacher.model} at {config.finetune.teacher.base_url}")
    result = build_support_data(
        load_chats(logs or shipped_chats_path()),
        load_sections(docs or shipped_docs_path()),
        eval_questions=eval_questions(_EVAL_DATASETS),
        teacher=teacher,
    )
    paths = write_support_data(out or config.data_dir / "customer_service", result)
    typer.echo(_data_summary(result.report))
    typer.echo(f"\nwrote {paths['pairs']}, {paths['train']} and {paths['report']}")


@app.command("train")
def train(
    ctx: typer.Context,
    data_folder: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Where `kubeai cs data` wrote (default: <data_dir>/customer_service).", file_okay=False
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Adapter name: its folder in the adapter store and served name.")] = (
        "cs-assistant"
    ),
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches of finetune.lora.batch_size).")] = 30,
    load: Annotated[
        bool, typer.Option(help="Load the trained adapter into the running server at llm.base_url.")
    ] = True,
) -> None:
    """Train the customer-service chat adapter with the project's LoRA trainer and register it with its card."""
    import asyncio
    import dataclasses

    from app import runtime
    from finetune.pipeline import lora_config
    from finetune.support_train import train_support_adapter

    config = load_project_config(ctx)
    folder = data_folder or config.data_dir / "customer_service"
    recipe = dataclasses.replace(lora_config(config.finetune), max_steps=steps)
    base_dir = runtime.prepare_models(config, progress=note).base_dir
    out_dir = runtime.adapter_store(config).root / name

    def step(done: int, total: int, loss: float) -> None:
        if done == 1 or done % 5 == 0 or done == total:
            note(f"  step {done}/{total} loss {loss:.3f}")

    note(f"training {name} on {folder / 'train.jsonl'} for {steps} steps")
    result = train_support_adapter(
        folder, base_model_dir=base_dir, out_dir=out_dir, config=recipe, name=name, progress=step
    )
    typer.echo(
        f"{name}: {result.steps} steps on {result.examples} examples, loss {result.first_loss:.3f} -> "
        f"{result.final_loss:.3f}, {result.seconds:.0f} s; adapter and card in {out_dir}"
    )
    if load:
        typer.echo(asyncio.run(_load(config, name, out_dir)))


_EVAL_DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


async def _load(config: ProjectConfig, name: str, path: Path) -> str:
    """Load the adapter into the running server, replacing an older one of the same name; one line saying how."""
    from kubeai.errors import ModelServerError, ModelServerUnavailableError

    client = model_client(config)
    try:
        if name in await client.models():
            await client.unload_adapter(name)  # the server keeps a loaded name's old weights otherwise
        await client.load_adapter(name, path.resolve())
    except ModelServerUnavailableError:
        return f"no model server answers at {config.llm.base_url}; `kubeai adapters load {name} {path}` loads it later"
    except ModelServerError as exc:
        return f"the server at {config.llm.base_url} did not load {name}: {exc}"
    return f"loaded {name} into the server at {config.llm.base_url}; ask it with model={name!r}"


def _data_summary(report: dict[str, Any]) -> str:
    """The data report as a few lines: raw turns to kept pairs, and what each stage removed."""
    logs = report["log_pairs"]
    cleaning = report["cleaning"]
    pii = ", ".join(f"{kind} {count}" for kind, count in report["pii"].items())
    turns = ", ".join(f"{reason} {count}" for reason, count in report["turns_removed"].items())
    checks = ", ".join(f"{reason} {count}" for reason, count in logs["removed"].items())
    cleaned = ", ".join(f"{reason} {count}" for reason, count in cleaning["removed"].items())
    sources = ", ".join(f"{source} {count}" for source, count in report["by_source"].items())
    lines = [
        f"method: {report['method']}",
        f"raw: {report['raw']['conversations']} conversations, {report['raw']['turns']} turns",
        f"personal data replaced: {pii}",
        f"turns removed: {turns}; {report['turns_kept']} kept",
        f"log pairs: {logs['extracted']} extracted, removed {checks}; {logs['kept']} kept",
        f"doc pairs: {report['doc_pairs']['pairs']} from {report['doc_pairs']['sections']} sections; "
        f"refusals: {report['refusals']}",
    ]
    if report.get("teacher"):
        teacher = report["teacher"]
        lines.append(f"teacher {teacher['model']}: {teacher['proposed']} proposed, {teacher['kept']} kept")
    lines.append(f"cleaning {cleaning['input_count']} candidates: removed {cleaned}")
    lines.append(f"kept pairs: {report['kept_pairs']} ({sources})")
    return "\n".join(lines)
