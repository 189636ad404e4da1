"""Retrieval quality on the document QA set: hit@1, hit@5 and MRR by source file, per fusion weight.

Ingests ``knowledge/demo_docs`` into a throw-away embedded store with the bundled multilingual-e5-small model,
then asks every question in ``evals/datasets/docqa/questions.jsonl``. A question is a hit at k when one of its
``expected_sources`` is among the sources of the top k chunks. Keyword-only ranking (alpha 0.0) is the
baseline measured in the same run.

Run: ``.venv/bin/python benchmarks/docqa_retrieval.py [--chunk-size 600 --overlap 100]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "evals" / "datasets" / "docqa" / "questions.jsonl"
ALPHAS = (0.0, 0.3, 0.5, 0.7, 1.0)


def main() -> None:
    from knowledge.demo_docs import DEMO_DOCS
    from knowledge.embeddings import E5Embeddings
    from knowledge.index import KnowledgeBase
    from knowledge.ingest import ChunkingConfig, ingest
    from knowledge.stores.sqlite import SQLiteVectorStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-size", type=int, default=600)
    parser.add_argument("--overlap", type=int, default=100)
    args = parser.parse_args()
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(embeddings=E5Embeddings(), store=SQLiteVectorStore(Path(tmp) / "vectors.sqlite"))
        start = time.perf_counter()
        report = ingest(kb, "docs", [DEMO_DOCS], chunking=ChunkingConfig(size=args.chunk_size, overlap=args.overlap))
        seconds = time.perf_counter() - start
        print(
            f"ingested {len(report.added)} documents, {report.chunks_written} chunks in {seconds:.1f} s "
            f"({report.chunks_written / seconds:.1f} chunks/s); chunk size {args.chunk_size}, overlap {args.overlap}"
        )
        print(f"{len(questions)} questions ({sum(q['language'] == 'zh' for q in questions)} zh)")
        baseline = None
        vectors = {q["id"]: kb.embeddings.embed_query(q["question"]) for q in questions}
        # A question is cross-lingual when none of its expected documents is mostly in the question's language.
        doc_language: dict[str, Counter[str]] = {}
        for hit in kb.get("docs"):
            doc_language.setdefault(Path(str(hit.metadata["source"])).name, Counter())[
                str(hit.metadata["language"])
            ] += 1
        cross = {
            q["id"]
            for q in questions
            if all(doc_language[s].most_common(1)[0][0] != q["language"] for s in q["expected_sources"])
        }
        print(f"{len(cross)} cross-lingual questions (asked in the other language than their documents)")
        print(
            f"{'alpha':>5}  {'hit@1':>6}  {'hit@5':>6}  {'MRR':>6}  {'hit@5 zh':>8}  {'hit@5 en':>8}  "
            f"{'same':>5}  {'cross':>5}  misses@5"
        )
        for alpha in ALPHAS:
            ranks: dict[str, int | None] = {}
            for question in questions:
                text, vector = question["question"], vectors[question["id"]]
                hits = kb.store.search("docs", text=text, vector=vector, k=5, alpha=alpha)
                sources = [Path(str(hit.metadata["source"])).name for hit in hits]
                expected = set(question["expected_sources"])
                ranks[question["id"]] = next((i for i, s in enumerate(sources, 1) if s in expected), None)
            hit1 = sum(r == 1 for r in ranks.values()) / len(questions)
            hit5 = sum(r is not None for r in ranks.values()) / len(questions)
            mrr = sum(1 / r for r in ranks.values() if r) / len(questions)
            by_lang = {}
            for lang in ("zh", "en"):
                group = [q["id"] for q in questions if q["language"] == lang]
                by_lang[lang] = sum(ranks[i] is not None for i in group) / max(1, len(group))
            same = [i for i in ranks if i not in cross]
            by_lang["same"] = sum(ranks[i] is not None for i in same) / max(1, len(same))
            by_lang["cross"] = sum(ranks[i] is not None for i in cross) / max(1, len(cross))
            misses = ",".join(i for i, r in ranks.items() if r is None) or "-"
            baseline = hit5 if baseline is None else baseline
            print(
                f"{alpha:>5.1f}  {hit1:>6.2f}  {hit5:>6.2f}  {mrr:>6.2f}  {by_lang['zh']:>8.2f}  "
                f"{by_lang['en']:>8.2f}  {by_lang['same']:>5.2f}  {by_lang['cross']:>5.2f}  {misses}"
            )
        kb.close()
        print(f"baseline (keyword only) hit@5 = {baseline:.2f}")


if __name__ == "__main__":
    main()
