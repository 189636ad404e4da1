"""Retrieval benchmark: catalog recall per language and kind, hybrid latency at scale, ingest throughput.

Run from the repository root::

    .venv/bin/python benchmarks/retrieval.py                 # everything (about 2-4 minutes on 2 cores)
    .venv/bin/python benchmarks/retrieval.py --skip-latency  # recall and throughput only

Recall measures exactly :func:`knowledge.catalog.retrieve_catalog` on
``evals/datasets/retrieval/catalog_questions.jsonl`` against ``knowledge/catalog/demo/catalog.yaml`` indexed with
``index_catalog``. Each kind is scored in its own list: a question's expected metric ids are looked for in the
metric list only and its expected dimension ids in the dimension list only. For a question with expected ids
E_m (metrics) and E_d (dimensions), recall@k = (|E_m ∩ top-k metrics| + |E_d ∩ top-k dimensions|) /
(min(|E_m|, k) + min(|E_d|, k)); MRR is the mean, over the kinds the question expects, of the reciprocal rank
of the first expected id in that kind's list. Both are averaged over questions, per language, and per id
parity: odd ids were the ones looked at while tuning, even ids are held out (in this set odd ids are the
Chinese questions and even ids the English ones, so the held-out half is the English half).

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

from knowledge.catalog import (  # noqa: E402
    CatalogMatches,
    catalog_entries,
    demo_catalog_path,
    index_catalog,
    load_catalog,
    retrieve_catalog,
)
from knowledge.catalog.retrieval import DEFAULT_ALPHA  # noqa: E402
from knowledge.embeddings import BUNDLED_MODELS, make_embeddings  # noqa: E402
from knowledge.index import Entry, KnowledgeBase  # noqa: E402
from knowledge.stores.base import Record  # noqa: E402
from knowledge.stores.sqlite import SQLiteVectorStore  # noqa: E402
from kubeai.config import EmbeddingsConfig  # noqa: E402

QUESTIONS = REPO / "evals" / "datasets" / "retrieval" / "catalog_questions.jsonl"
K = 5


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    language: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]

    @property
    def held_out(self) -> bool:
        """Even ids were never looked at while tuning."""
        return int(self.id.rsplit("-", 1)[-1]) % 2 == 0


@dataclass(frozen=True)
class Scores:
    recall1: float
    recall5: float
    mrr: float
    n: int


@dataclass(frozen=True)
class Outcome:
    question: Question
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]
    ms: float

    def recall(self, k: int) -> float:
        found = len(set(self.question.metrics) & set(self.metrics[:k]))
        found += len(set(self.question.dimensions) & set(self.dimensions[:k]))
        return found / (min(len(self.question.metrics), k) + min(len(self.question.dimensions), k))

    def reciprocal_rank(self) -> float:
        ranks = []
        for expected, ranked in ((self.question.metrics, self.metrics), (self.question.dimensions, self.dimensions)):
            if expected:
                rank = next((i for i, name in enumerate(ranked, 1) if name in expected), None)
                ranks.append(1.0 / rank if rank else 0.0)
        return sum(ranks) / len(ranks)


def load_questions(path: Path) -> list[Question]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(
                Question(row["id"], row["question"], row["language"], tuple(row["metrics"]), tuple(row["dimensions"]))
            )
    return out


def load_entries(catalog: Path | None) -> list[Entry]:
    """The catalog's retrieval entries (main and term entries)."""
    return list(catalog_entries(load_catalog(catalog or demo_catalog_path())))


def score(outcomes: Sequence[Outcome]) -> Scores:
    n = len(outcomes)
    if not n:
        return Scores(0, 0, 0, 0)
    return Scores(
        sum(o.recall(1) for o in outcomes) / n,
        sum(o.recall(K) for o in outcomes) / n,
        sum(o.reciprocal_rank() for o in outcomes) / n,
        n,
    )


def run_questions(kb: KnowledgeBase, questions: Sequence[Question], alpha: float) -> list[Outcome]:
    out = []
    for q in questions:
        start = time.perf_counter()
        found: CatalogMatches = retrieve_catalog(kb, q.text, metrics_k=K, dimensions_k=K, examples_k=3, alpha=alpha)
        ms = (time.perf_counter() - start) * 1000
        out.append(
            Outcome(
                q,
                tuple(str(h.metadata["name"]) for h in found.metrics),
                tuple(str(h.metadata["name"]) for h in found.dimensions),
                ms,
            )
        )
    return out


def groups(outcomes: Sequence[Outcome]) -> list[tuple[str, str, list[Outcome]]]:
    rows = []
    for lang in sorted({o.question.language for o in outcomes}):
        mine = [o for o in outcomes if o.question.language == lang]
        for split, chosen in (
            ("all", mine),
            ("odd (tuned)", [o for o in mine if not o.question.held_out]),
            ("even (held out)", [o for o in mine if o.question.held_out]),
        ):
            if chosen:
                rows.append((lang, split, chosen))
    rows.append(("all", "all", list(outcomes)))
    return rows


def failures(outcomes: Sequence[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        if o.recall(K) < 1.0:
            q = o.question
            lines.append(
                f"  {q.id} [{q.language}] {q.text}  expected {[*q.metrics, *q.dimensions]}  "
                f"metrics {list(o.metrics)}  dimensions {list(o.dimensions)}"
            )
    return lines


def recall_section(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    catalog = load_catalog(args.catalog or demo_catalog_path())
    entries = catalog_entries(catalog)
    print(f"\n## retrieve_catalog on the catalog set: {len(questions)} questions, {len(entries)} entries")
    print(
        f"(alpha={args.alpha}; each kind ranked in its own list, top {K} per kind; recall@k = expected ids found in "
        "their own kind's top k / min(expected, k) per kind)\n"
    )
    header = f"| {'model':<28} | lang | {'ids':<15} | n  | recall@1 | recall@5 | MRR   | p50 ms |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for model_name in args.models:
        try:
            embeddings = make_embeddings(EmbeddingsConfig(model=model_name))
            embeddings.embed_query("warm up")
        except Exception as exc:  # a missing optional model is reported, not fatal
            print(f"| {model_name:<28} | skipped: {exc} |")
            continue
        store = SQLiteVectorStore(":memory:")
        kb = KnowledgeBase(embeddings=embeddings, store=store)
        report = index_catalog(kb, catalog).report
        outcomes = run_questions(kb, questions, args.alpha)
        for lang, split, chosen in groups(outcomes):
            s = score(chosen)
            p50 = percentile([o.ms for o in chosen], 0.5)
            print(
                f"| {model_name:<28} | {lang:<4} | {split:<15} | {s.n:<2} | {s.recall1:8.3f} | {s.recall5:8.3f} "
                f"| {s.mrr:.3f} | {p50:6.1f} |"
            )
        print(f"|   ingest: {report.indexed} entries in {report.seconds:.2f} s = {report.entries_per_second:.0f}/s |")
        for alpha in args.sweep:
            swept = run_questions(kb, questions, alpha)
            cells = ", ".join(
                f"{lang} r@1 {s.recall1:.3f} r@5 {s.recall5:.3f} MRR {s.mrr:.3f}"
                for lang, split, chosen in groups(swept)
                if split == "all"
                for s in [score(chosen)]
            )
            print(f"|   alpha {alpha:.2f}: {cells} |")
        if args.show_failures and model_name == args.models[0]:
            print(f"\nQuestions with an expected id outside its kind's top {K}:")
            print("\n".join(failures(outcomes)) or "  none")
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
    parser.add_argument(
        "--models", nargs="+", default=list(BUNDLED_MODELS), choices=list(BUNDLED_MODELS), help="bundled models"
    )
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="hybrid alpha")
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="extra hybrid alphas to report")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--ingest", type=int, default=256, help="entries for the throughput run")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_recall:
        recall_section(args)
    if not args.skip_ingest:
        ingest_section(args)
    if not args.skip_latency:
        latency_section(args)


if __name__ == "__main__":
    main()
