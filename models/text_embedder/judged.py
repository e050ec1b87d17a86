"""A judged search set (eval format) as training data for the text tower: reading it, the seeded
query split shared with the TypeScript eval, a small BM25 for mining hard negatives, the ranking
metrics of eval/kit/metrics.ts and the similarity-threshold calibration.

Format (eval/search/datasets.ts): products.jsonl (one product per line), queries.tsv
(`query_id<TAB>query`), qrels.tsv (`query_id 0 product_id grade`, grade 0..3). Grade >= 2 is a
positive for training; the eval's metrics count grade > 0 as relevant (recall, MRR) and use gain
2^grade - 1 (nDCG), as eval/kit/metrics.ts does.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import features as feat

POSITIVE_GRADE = 2


def read_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t", 1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{n}: expected query_id<TAB>query")
            qid, q = parts[0].strip(), parts[1].strip()
            if n == 1 and qid == "query_id" and q == "query":
                continue
            out[qid] = q
    return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4:
                raise ValueError(f"{path}:{n}: expected `query_id 0 product_id grade`")
            out.setdefault(parts[0], {})[parts[2]] = int(round(float(parts[3])))
    return out


def read_products(path: Path) -> list[dict]:
    rows = []
    seen = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            pid = r.get("id")
            if not isinstance(pid, (str, int)) or not isinstance(r.get("title"), str) or not r["title"].strip():
                continue
            r["id"] = str(pid)
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            rows.append(r)
    return rows


def split_unit(qid: str, seed: int) -> float:
    """Port of splitUnit() in eval/search/tune-fusion/split.ts (FNV-1a over UTF-16 code units from a
    seed-dependent basis, murmur3 finaliser): the same query lands in the same share on both sides,
    so `--holdout-fraction 0.5 --seed 1` holds out exactly tune-fusion's test half."""
    M = 0xFFFFFFFF
    h = (0x811C9DC5 ^ (((seed & M) * 0x9E3779B1) & M)) & M
    units = qid.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h ^= units[i] | (units[i + 1] << 8)
        h = (h * 0x01000193) & M
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M
    h ^= h >> 16
    return h / 4294967296


def words(text: str) -> list[str]:
    """Lexical tokens: the featurizer's words, and CJK runs as single characters."""
    out: list[str] = []
    for kind, t in feat.tokenize(feat.normalize(text)):
        if kind == "w":
            out.append(t)
        else:
            out.extend(t)
    return out


class BM25:
    """Okapi BM25 (k1 1.2, b 0.75) over the products' texts: only to mine hard negatives, the
    products keyword search ranks high that the judges did not call relevant."""

    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.n = len(docs)
        post: dict[str, dict[int, int]] = {}
        lens = np.zeros(self.n, np.float32)
        for j, d in enumerate(docs):
            ws = words(d)
            lens[j] = len(ws)
            for w in ws:
                p = post.setdefault(w, {})
                p[j] = p.get(j, 0) + 1
        avg = float(lens.mean()) if self.n else 1.0
        self.norm = k1 * (1 - b + b * lens / max(avg, 1e-9))
        self.k1 = k1
        self.post = {
            w: (np.fromiter(p.keys(), np.int64, len(p)), np.fromiter(p.values(), np.float32, len(p))) for w, p in post.items()
        }

    def top(self, query: str, k: int) -> list[int]:
        scores = np.zeros(self.n, np.float32)
        touched = False
        for w in set(words(query)):
            hit = self.post.get(w)
            if hit is None:
                continue
            ids, tf = hit
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            scores[ids] += idf * tf * (self.k1 + 1) / (tf + self.norm[ids])
            touched = True
        if not touched:
            return []
        k = min(k, int((scores > 0).sum()))
        if k == 0:
            return []
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")].tolist()


# ---- metrics (eval/kit/metrics.ts) -------------------------------------------------------------


def ndcg_at(k: int, ranked: list[str], judged: dict[str, int]) -> float:
    dcg = sum((2 ** judged.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(k: int, ranked: list[str], judged: dict[str, int]) -> float:
    rel = sum(1 for g in judged.values() if g > 0)
    if rel == 0:
        return 0.0
    return sum(1 for pid in ranked[:k] if judged.get(pid, 0) > 0) / rel


def mrr_at(k: int, ranked: list[str], judged: dict[str, int]) -> float:
    for i, pid in enumerate(ranked[:k]):
        if judged.get(pid, 0) > 0:
            return 1 / (i + 1)
    return 0.0


def rank_report(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict:
    """Means over the queries with a relevant product (as the search eval counts them)."""
    qs = [q for q in rankings if any(g > 0 for g in qrels.get(q, {}).values())]
    if not qs:
        return {"queries": 0}
    m = {
        "ndcg@10": float(np.mean([ndcg_at(10, rankings[q], qrels[q]) for q in qs])),
        "recall@10": float(np.mean([recall_at(10, rankings[q], qrels[q]) for q in qs])),
        "recall@100": float(np.mean([recall_at(100, rankings[q], qrels[q]) for q in qs])),
        "mrr@10": float(np.mean([mrr_at(10, rankings[q], qrels[q]) for q in qs])),
    }
    return {"queries": len(qs), **{k: round(v, 4) for k, v in m.items()}}


# ---- similarity threshold --------------------------------------------------------------------


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> dict:
    """The cosine t maximising F1 of `score >= t` against `labels` (True = relevant)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.float64)
    pos = y.sum()
    if pos == 0 or len(s) == 0:
        return {"threshold": None, "f1": 0.0, "precision": 0.0, "recall": 0.0, "pairs": int(len(s)), "relevant": int(pos)}
    tp = np.cumsum(y)
    k = np.arange(1, len(s) + 1)
    # Only cut between distinct scores: everything tied with s[i] is on the same side.
    last = np.r_[s[1:] != s[:-1], True]
    prec, rec = tp / k, tp / pos
    f1 = np.where(last, 2 * prec * rec / np.maximum(prec + rec, 1e-12), -1)
    i = int(np.argmax(f1))
    # Midway to the next lower score, so the cut does not sit on a training pair.
    t = float(s[i] if i + 1 >= len(s) else (s[i] + s[i + 1]) / 2)
    return {
        "threshold": round(t, 4),
        "f1": round(float(f1[i]), 4),
        "precision": round(float(prec[i]), 4),
        "recall": round(float(rec[i]), 4),
        "pairs": int(len(s)),
        "relevant": int(pos),
    }


def f1_at(scores: np.ndarray, labels: np.ndarray, t: float) -> dict:
    pred = scores >= t
    tp = float((pred & labels).sum())
    p = tp / max(float(pred.sum()), 1.0)
    r = tp / max(float(labels.sum()), 1.0)
    return {"f1": round(2 * p * r / max(p + r, 1e-12), 4), "precision": round(p, 4), "recall": round(r, 4), "pairs": int(len(scores))}
