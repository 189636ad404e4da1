"""Retrieval benchmark: catalog recall per language and mode, hybrid latency at scale, ingest throughput.

Run from the repository root::

    .venv/bin/python benchmarks/retrieval.py                 # everything (about 2-4 minutes on 2 cores)
    .venv/bin/python benchmarks/retrieval.py --skip-latency  # recall and throughput only

Recall is measured on ``evals/datasets/retrieval/catalog_questions.jsonl`` against the entries of
``knowledge/catalog/demo/catalog.yaml`` (``catalog_entries``). For a question with expected ids E and the top-k
hit ids H, recall@k = |E ∩ H| / min(|E|, k) (so recall@1 asks whether the first hit is expected), MRR is the
reciprocal rank of the first expected hit; both averaged over questions. By default the search is restricted
to metric and dimension entries (``where={"kind": ["metric", "dimension"]}``), which is how an agent looks
up what a question is about; ``--all-kinds`` searches examples too.

Latency figures use random 384-d vectors and synthetic bilingual texts in the embedded SQLite store, with
exact vector-only search in the same store and run as the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knowledge.embeddings import BUNDLED_MODELS, make_embeddings  # noqa: E402
from knowledge.index import Entry, KnowledgeBase  # noqa: E402
from knowledge.stores.base import Record  # noqa: E402
from knowledge.stores.sqlite import SQLiteVectorStore  # noqa: E402
from kubeai.config import EmbeddingsConfig  # noqa: E402

QUESTIONS = REPO / "evals" / "datasets" / "retrieval" / "catalog_questions.jsonl"
MODES = {"hybrid": None, "vector": 1.0, "keyword": 0.0}


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    recall1: float
    recall5: float
    mrr: float
    n: int


def load_questions(path: Path) -> list[Question]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Question(row["question"], row["language"], tuple(row["expected_ids"])))
    return out


def load_entries(catalog: Path | None, *, drop_by: bool = False) -> list[Entry]:
    """The catalog's entries; ``drop_by`` removes metrics' "By: <dimensions>" line (a proposed text change)."""
    from knowledge.catalog import catalog_entries, demo_catalog_path, load_catalog

    entries = list(catalog_entries(load_catalog(catalog or demo_catalog_path())))
    if drop_by:
        entries = [
            Entry(e.id, "\n".join(x for x in e.text.splitlines() if not x.startswith("By: ")), e.metadata)
            for e in entries
        ]
    return entries


def score(results: Sequence[tuple[Question, list[str]]]) -> Scores:
    r1, r5, rr = [], [], []
    for question, hits in results:
        expected = set(question.expected)
        r1.append(len(expected & set(hits[:1])) / min(len(expected), 1))
        r5.append(len(expected & set(hits[:5])) / min(len(expected), 5))
        rank = next((i for i, h in enumerate(hits, 1) if h in expected), None)
        rr.append(1.0 / rank if rank else 0.0)
    n = len(results)
    return Scores(sum(r1) / n, sum(r5) / n, sum(rr) / n, n) if n else Scores(0, 0, 0, 0)


def evaluate(
    kb: KnowledgeBase, questions: list[Question], alpha: float, where: object, per_kind: bool
) -> dict[str, Scores]:
    by_lang: dict[str, list[tuple[Question, list[str]]]] = {}
    for q in questions:
        by_lang.setdefault(q.language, []).append((q, ranked(kb, q.text, alpha, where, per_kind)))
    return {lang: score(rows) for lang, rows in sorted(by_lang.items())}


def ranked(kb: KnowledgeBase, text: str, alpha: float, where: object, per_kind: bool, *, k: int = 10) -> list[str]:
    """Hit ids for a question; with ``per_kind`` the best metrics and best dimensions, interleaved."""
    if not per_kind:
        return [h.id for h in kb.search("catalog", text, k=k, alpha=alpha, where=where)]  # type: ignore[arg-type]
    metrics = [h.id for h in kb.search("catalog", text, k=k, alpha=alpha, where={"kind": "metric"})]
    dims = [h.id for h in kb.search("catalog", text, k=k, alpha=alpha, where={"kind": "dimension"})]
    merged = [x for pair in zip(metrics, dims, strict=False) for x in pair]
    return merged[:k]


def failures(kb: KnowledgeBase, questions: list[Question], alpha: float, where: object, per_kind: bool) -> list[str]:
    lines = []
    for q in questions:
        hits = ranked(kb, q.text, alpha, where, per_kind, k=5)
        missing = [e for e in q.expected if e not in hits]
        if missing:
            lines.append(f"  [{q.language}] {q.text}  missing {missing}  got {hits}")
    return lines


def recall_section(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    entries = load_entries(args.catalog, drop_by=args.drop_by)
    where = None if args.all_kinds else {"kind": ["metric", "dimension"]}
    print(f"\n## Recall on the catalog set: {len(questions)} questions, {len(entries)} entries")
    print(
        f"(filter: {where}; hybrid alpha={args.alpha}; per-kind: {args.per_kind}; metric 'By:' lines dropped: "
        f"{args.drop_by}; recall@k = |expected ∩ top-k| / min(|expected|, k))\n"
    )
    header = f"| {'model':<28} | {'mode':<7} | lang | n  | recall@1 | recall@5 | MRR   |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    keyword_done = False
    for model_name in args.models:
        try:
            embeddings = make_embeddings(EmbeddingsConfig(model=model_name))
            embeddings.embed_query("warm up")
        except Exception as exc:  # a missing optional model is reported, not fatal
            print(f"| {model_name:<28} | skipped: {exc} |")
            continue
        store = SQLiteVectorStore(":memory:")
        kb = KnowledgeBase(embeddings=embeddings, store=store)
        report = kb.index("catalog", entries)
        for mode, fixed in MODES.items():
            if mode == "keyword" and keyword_done:
                continue
            alpha = args.alpha if fixed is None else fixed
            label = "(any)" if mode == "keyword" else model_name
            for lang, s in evaluate(kb, questions, alpha, where, args.per_kind).items():
                print(
                    f"| {label:<28} | {mode:<7} | {lang:<4} | {s.n:<2} | {s.recall1:8.3f} | {s.recall5:8.3f} "
                    f"| {s.mrr:.3f} |"
                )
            keyword_done = keyword_done or mode == "keyword"
        print(f"|   ingest: {report.indexed} entries in {report.seconds:.2f} s = {report.entries_per_second:.0f}/s |")
        if args.sweep:
            for alpha in args.sweep:
                cells = ", ".join(
                    f"{lang} r@1 {s.recall1:.3f} r@5 {s.recall5:.3f} MRR {s.mrr:.3f}"
                    for lang, s in evaluate(kb, questions, alpha, where, args.per_kind).items()
                )
                print(f"|   alpha {alpha:.2f}: {cells} |")
        if args.show_failures and model_name == args.models[0]:
            print("\nMisses in the top 5 (hybrid):")
            print("\n".join(failures(kb, questions, args.alpha, where, args.per_kind)) or "  none")
            print()
        store.close()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _vocabulary(rng: random.Random) -> tuple[list[str], list[str], list[float], list[float]]:
    """3,000 pseudo-words and 800 common-range Han characters, drawn with Zipf weights like real text."""
    syllables = ["ka", "lo", "mi", "ren", "sto", "pa", "du", "ve", "xi", "on", "tra", "bel", "qu", "ze", "ny"]
    words = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)})[:3000]
    hanzi = [chr(0x4E00 + rng.randrange(0x51A5)) for _ in range(800)]
    return words, hanzi, [1 / (r + 1) for r in range(len(words))], [1 / (r + 1) for r in range(len(hanzi))]


VOCAB = _vocabulary(random.Random(11))


def synthetic_text(rng: random.Random) -> str:
    words, hanzi, word_weights, hanzi_weights = VOCAB
    latin = " ".join(rng.choices(words, word_weights, k=rng.randint(8, 20)))
    chinese = "".join(rng.choices(hanzi, hanzi_weights, k=rng.randint(10, 30)))
    return f"{latin} {chinese}"


def random_vector(rng: random.Random, dim: int) -> list[float]:
    return [rng.gauss(0.0, 1.0) for _ in range(dim)]


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def latency_section(args: argparse.Namespace) -> None:
    print("\n## Hybrid query latency, embedded SQLite store (random 384-d vectors, synthetic zh+en text, k=10)\n")
    print(
        "| entries | build s | insert/s | vector-only p50 ms | hybrid p50 ms | hybrid p95 ms | keyword p50 ms "
        "| hybrid/vector |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rng = random.Random(7)
    dim = 384
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteVectorStore(Path(tmp) / "bench.sqlite")
        have = 0
        for size in args.sizes:
            start = time.perf_counter()
            while have < size:
                batch = [
                    Record(
                        id=f"r{i}",
                        text=synthetic_text(rng),
                        vector=random_vector(rng, dim),
                        metadata={"kind": rng.choice(["metric", "dimension", "doc"])},
                    )
                    for i in range(have, min(size, have + 5000))
                ]
                store.upsert("bench", batch)
                have += len(batch)
            build = time.perf_counter() - start
            queries = [(synthetic_text(rng)[:40], random_vector(rng, dim)) for _ in range(args.queries)]

            def run(alpha: float, qs: list[tuple[str, list[float]]] = queries) -> Callable[[], object]:
                it = iter(qs * 2)
                return lambda: store.search("bench", text=next(it)[0], vector=next(it)[1], k=10, alpha=alpha)

            store.search("bench", text="warm", vector=queries[0][1], k=10)
            vec = timed(run(1.0), args.queries)
            hyb = timed(run(0.5), args.queries)
            kw = timed(run(0.0), args.queries)
            added = size - (args.sizes[args.sizes.index(size) - 1] if args.sizes.index(size) else 0)
            print(
                f"| {size} | {build:.1f} | {added / build:.0f} | {percentile(vec, 0.5):.1f} | "
                f"{percentile(hyb, 0.5):.1f} | {percentile(hyb, 0.95):.1f} | {percentile(kw, 0.5):.1f} | "
                f"{percentile(hyb, 0.5) / percentile(vec, 0.5):.2f}x |"
            )
        store.close()


def ingest_section(args: argparse.Namespace) -> None:
    print("\n## Ingest throughput (embedded with the default model, then stored), catalog texts\n")
    entries = load_entries(args.catalog)
    copies = [
        Entry(f"{e.id}#{i}", e.text, e.metadata)
        for i in range(max(1, args.ingest // max(1, len(entries))))
        for e in entries
    ]
    embeddings = make_embeddings(EmbeddingsConfig())
    embeddings.embed_query("warm up")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        vectors = embeddings.embed_documents([e.text for e in copies])
        embed_s = time.perf_counter() - start
        store = SQLiteVectorStore(Path(tmp) / "store-only.sqlite")
        records = [
            Record(id=e.id, text=e.text, vector=v, metadata=e.metadata) for e, v in zip(copies, vectors, strict=True)
        ]
        start = time.perf_counter()
        store.upsert("ingest", records)
        store_s = time.perf_counter() - start
        store.close()
        store = SQLiteVectorStore(Path(tmp) / "ingest.sqlite")
        report = KnowledgeBase(embeddings=embeddings, store=store, batch_size=32).index("ingest", copies)
        store.close()
    print("| entries | embed only entries/s | store only entries/s | KnowledgeBase.index (both) entries/s |")
    print("|---|---|---|---|")
    print(
        f"| {report.indexed} | {len(vectors) / embed_s:.0f} | {len(records) / store_s:.0f} | "
        f"{report.entries_per_second:.0f} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--catalog", type=Path, default=None, help="catalog YAML (default: the demo catalog)")
    parser.add_argument("--models", nargs="+", default=list(BUNDLED_MODELS), help="bundled models to compare")
    parser.add_argument("--alpha", type=float, default=0.5, help="hybrid alpha")
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="extra hybrid alphas to report")
    parser.add_argument("--all-kinds", action="store_true", help="search examples too, not only metrics/dimensions")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--ingest", type=int, default=256, help="entries for the throughput run")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--per-kind", action="store_true", help="rank metrics and dimensions separately and interleave them"
    )
    parser.add_argument("--drop-by", action="store_true", help="drop metrics' 'By:' line (proposed text change)")
    args = parser.parse_args(argv)
    if not args.skip_recall:
        recall_section(args)
    if not args.skip_ingest:
        ingest_section(args)
    if not args.skip_latency:
        latency_section(args)


if __name__ == "__main__":
    main()
