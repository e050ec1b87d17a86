"""Train Shelf's default text embedder: a fastText-style embedding bag over hashed n-grams.

    python3 models/text_embedder/train.py            # data/demo/catalog.jsonl -> models/default/text-embedder/

Model: embedding = normalize(sum_i w_i * E[id_i]) with (id_i, w_i) from features.py (hashed word
unigrams/bigrams, char 3-5-grams, CJK chars/bigrams; w = sqrt(tf)). E is [buckets, dim]; row 0 is
the zero padding row.

Objective: symmetric InfoNCE with in-batch negatives over one product per batch row:
  * anchor = a shopper-like partial-title query (random subset of title words, maybe the last
    word cut short or with a typo; random 1-4 character spans of CJK titles), or another view of
    the product (category path words, leaf category, brand, brand + leaf, tags, an attribute, a
    description sentence), or the title itself;
  * positive = the full product text (what the indexer embeds, same field order as
    core/catalog/product.ts productText) or, for non-query views, sometimes the title.
In-batch "negatives" whose product text contains every word of the anchor (another product in
the same category for a category anchor, a duplicate title, ...) count as extra positives
rather than negatives.

Evaluation: recall@10 / MRR@10 of held-out partial-title queries (own product must be in the
top 10 of all products), for (a) products held out of training and (b) trained products with
fresh queries; baselines: sparse hashed tf-idf cosine over the same features and the randomly
initialised bag (= a random projection of those features). The shipped model is then trained
on every product with the same settings (disable with --no-final-all).

Seeded and deterministic on CPU (fixed thread count); about a minute for the demo catalog (327 rows).

--data DIR trains on a judged set (`main_judged`, README.md beside this file); with --base MODEL_DIR
the same rows and objective fine-tune a transformers.js BERT encoder instead (all-MiniLM-L6-v2 as
models/pretrained/ builds it; `bert.py`), exported back to the same layout (`main_base`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import features as feat  # noqa: E402
import judged  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MODEL_NAME = "shelf-ngram-text-embedder"
MODEL_VERSION = "v1"


# ---- catalog ----------------------------------------------------------------------------------



OBJECTIVE = (
    "symmetric InfoNCE with in-batch negatives and one hard negative per query row (judged grade 0, "
    "shown-and-skipped, or BM25 top-k unjudged); positives = products graded >= 2; grade 1 masked out; "
    "plus the catalog's self-supervised views (partial titles, category/brand/tag/attribute/description) "
    "of uniformly drawn products"
)


def shared_recipe(args, stats, objective_extra=""):
    """The model card's recipe entries both towers share (the n-gram one and a fine-tuned --base)."""
    return {
        "view_ratio": args.view_ratio,
        "hard_negative_rate": args.hard_negative_rate,
        "hard_negative_depth": args.hard_negative_depth,
        "hard_negatives": args.hard_negatives,
        "query_augment": args.query_augment,
        "rows": {k: stats[k] for k in ("query_rows", "view_rows", "hard_negatives", "augmented_queries")},
        "objective": OBJECTIVE + objective_extra,
    }

def load_catalog(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(r, dict) and isinstance(r.get("title"), str) and r["title"].strip():
                rows.append(r)
    return rows


def norm_category(c) -> str | None:
    if not isinstance(c, str):
        return None
    parts = [p.strip() for p in c.split("/") if p.strip()]
    return "/".join(parts) if parts else None


def product_text(r: dict) -> str:
    """Mirror of productText() in core/catalog/product.ts: the text the indexer embeds."""
    parts = [r["title"]]
    brand = r.get("brand").strip() if isinstance(r.get("brand"), str) else ""
    if brand:
        parts.append(brand)
    cat = norm_category(r.get("category"))
    if cat:
        parts.append(" ".join(cat.split("/")))
    tags = [t for t in r.get("tags") or [] if isinstance(t, str)]
    if tags:
        parts.append(" ".join(tags))
    attrs = r.get("attributes") if isinstance(r.get("attributes"), dict) else {}
    if attrs:
        parts.append(" ".join(f"{k} {v}" for k, v in attrs.items()))
    desc = r.get("description")
    if isinstance(desc, str) and desc:
        parts.append(desc)
    return ". ".join(parts)


SENT_SPLIT = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")


def product_views(r: dict) -> list[str]:
    """Texts other than the title that describe the product (anchors for title/doc)."""
    views: list[str] = []
    cat = norm_category(r.get("category"))
    brand = r.get("brand").strip() if isinstance(r.get("brand"), str) else ""
    if cat:
        segs = cat.split("/")
        views.append(" ".join(segs))
        views.append(segs[-1])
        if brand:
            views.append(f"{brand} {segs[-1]}")
    if brand:
        views.append(brand)
    tags = [t for t in r.get("tags") or [] if isinstance(t, str) and t.strip()]
    if tags:
        views.append(" ".join(tags))
        views.extend(tags)
    attrs = r.get("attributes") if isinstance(r.get("attributes"), dict) else {}
    for k, v in attrs.items():
        views.append(f"{v} {k}" if isinstance(v, str) else str(k))
    desc = r.get("description")
    if isinstance(desc, str):
        for s in SENT_SPLIT.split(desc):
            s = s.strip()
            if len(s) >= 4:
                views.append(s[:300])
                if len(views) > 40:
                    break
    return [v for v in views if feat.tokenize(feat.normalize(v))]


# ---- shopper-like queries --------------------------------------------------------------------


def _typo(w: str, rng: random.Random) -> str:
    if len(w) < 5:
        return w
    i = rng.randrange(1, len(w) - 1)
    op = rng.random()
    if op < 0.4:
        return w[:i] + w[i + 1 :]  # drop
    if op < 0.8:
        return w[:i] + w[i + 1] + w[i] + w[i + 2 :] if i + 1 < len(w) else w  # swap
    return w[:i] + w[i] + w[i:]  # double


def make_query(title: str, rng: random.Random, min_units: int = 1) -> str:
    """A short partial-title query: a few title words in order (last one maybe cut short, maybe a
    typo) and/or a 1-4 character span of a CJK run."""
    toks = feat.tokenize(feat.normalize(title))
    if not toks:
        return title
    units: list[tuple[int, str]] = []
    for i, (kind, t) in enumerate(toks):
        if kind == "w":
            units.append((i, t))
        else:
            if len(t) <= 2:
                units.append((i, t))
            else:
                n = rng.randint(2, min(4, len(t)))
                s = rng.randrange(0, len(t) - n + 1)
                units.append((i, t[s : s + n]))
    # Prefer informative units: words that are not bare numbers.
    informative = [u for u in units if not u[1].isdigit()] or units
    hi = min(3, len(informative))
    lo = min(min_units, hi)
    k = rng.randint(lo, hi)
    if k < hi and rng.random() < 0.3:
        k += 1
    chosen = sorted(rng.sample(informative, k))
    words = [t for _, t in chosen]
    last = words[-1]
    if last.isalpha() and len(last) >= 5 and rng.random() < 0.25:
        words[-1] = last[: rng.randint(3, len(last) - 1)]  # still typing
    elif rng.random() < 0.1:
        j = rng.randrange(len(words))
        words[j] = _typo(words[j], rng)
    return " ".join(words)


# ---- featurized batches ----------------------------------------------------------------------


class Featurizer:
    def __init__(self, buckets: int):
        self.buckets = buckets
        self.cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, text: str):
        """(ids int64, weights float32, unigram-bucket set int64) of one text."""
        hit = self.cache.get(text)
        if hit is None:
            ids, w = feat.featurize(text, self.buckets)
            toks = feat.tokenize(feat.normalize(text))
            uni = sorted(
                {feat.bucket_of(("w:" if k == "w" else "h:") + c, self.buckets) for k, t in toks for c in ([t] if k == "w" else t)}
            )
            hit = (np.asarray(ids, np.int64), np.asarray(w, np.float32), np.asarray(uni, np.int64))
            if len(self.cache) > 500_000:
                self.cache.clear()
            self.cache[text] = hit
        return hit

    def bag(self, texts: list[str]):
        fs = [self(t) for t in texts]
        lens = [len(f[0]) for f in fs]
        ids = torch.from_numpy(np.concatenate([f[0] for f in fs]) if fs else np.zeros(0, np.int64))
        w = torch.from_numpy(np.concatenate([f[1] for f in fs]) if fs else np.zeros(0, np.float32))
        offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64))
        return ids, w, offsets


class Postings:
    """Which products contain a unigram bucket: for the in-batch multi-positive mask."""

    def __init__(self, doc_sets: list[np.ndarray]):
        post: dict[int, list[int]] = {}
        for j, s in enumerate(doc_sets):
            for b in s.tolist():
                post.setdefault(b, []).append(j)
        self.post = {b: np.asarray(v, np.int64) for b, v in post.items()}
        self.empty = np.zeros(0, np.int64)

    def containing_all(self, s: np.ndarray) -> np.ndarray:
        cand = None
        for b in s.tolist():
            p = self.post.get(b, self.empty)
            cand = p if cand is None else np.intersect1d(cand, p, assume_unique=True)
            if len(cand) == 0:
                break
        return self.empty if cand is None else cand


def positive_mask(anchor_sets: list[np.ndarray], batch: list[int], postings: Postings) -> torch.Tensor:
    """m[i, j] = product batch[j]'s text contains every unigram of anchor i; diagonal always."""
    n = len(batch)
    row_of = {p: r for r, p in enumerate(batch)}
    m = np.eye(n, dtype=bool)
    for i, s in enumerate(anchor_sets):
        for p in postings.containing_all(s).tolist():
            r = row_of.get(p)
            if r is not None:
                m[i, r] = True
    return torch.from_numpy(m)


# ---- model -----------------------------------------------------------------------------------


def init_table(buckets: int, dim: int, std: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    E = torch.randn(buckets, dim, generator=g) * std
    E[0] = 0
    return E


def embed(E: torch.Tensor, ids: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return F.normalize(F.embedding_bag(ids, E, offsets, mode="sum", per_sample_weights=w), dim=-1, eps=1e-12)


def embed_all(E: torch.Tensor, fz: Featurizer, texts: list[str], bs: int = 512) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for s in range(0, len(texts), bs):
            out.append(embed(E, *fz.bag(texts[s : s + bs])))
    return torch.cat(out) if out else torch.zeros(0, E.shape[1])


def rank_metrics(scores: torch.Tensor, gold: list[int], k: int = 10) -> dict:
    top = scores.topk(min(k, scores.shape[1]), dim=1).indices
    g = torch.tensor(gold).unsqueeze(1)
    hit = top == g
    found = hit.any(1)
    rr = torch.where(found, 1.0 / (hit.float().argmax(1) + 1).float(), torch.zeros(len(gold)))
    return {f"recall@{k}": round(found.float().mean().item(), 4), f"mrr@{k}": round(rr.mean().item(), 4)}


def tfidf_scores(fz: Featurizer, queries: list[str], docs: list[str], buckets: int) -> torch.Tensor:
    """Sparse cosine over idf-weighted hashed features: the no-learning lexical baseline."""
    df = np.zeros(buckets, np.float64)
    dfeats = [fz(d) for d in docs]
    for ids, _, _ in dfeats:
        df[ids] += 1
    idf = np.log((1 + len(docs)) / (1 + df)) + 1.0

    def sparse(fs):
        rows, cols, vals = [], [], []
        for i, (ids, w, _) in enumerate(fs):
            v = w * idf[ids]
            v = v / max(np.linalg.norm(v), 1e-12)
            rows.append(np.full(len(ids), i))
            cols.append(ids)
            vals.append(v)
        idx = torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)]))
        return torch.sparse_coo_tensor(idx, torch.from_numpy(np.concatenate(vals)).float(), (len(fs), buckets)).coalesce()

    D = sparse(dfeats)
    out = []
    qf = [fz(q) for q in queries]
    for s in range(0, len(qf), 256):
        Q = sparse(qf[s : s + 256]).to_dense()
        out.append(torch.sparse.mm(D, Q.T).T)
    return torch.cat(out)


# ---- training --------------------------------------------------------------------------------


def sample_pair(r: dict, title: str, doc: str, views: list[str], rng: random.Random) -> tuple[str, str]:
    u = rng.random()
    if u < 0.55 or not views:
        if u < 0.12:
            return title, doc
        return make_query(title, rng), doc
    v = rng.choice(views)
    return v, (title if rng.random() < 0.35 else doc)


def train(products: list[dict], train_idx: list[int], fz: Featurizer, args, log_prefix: str) -> torch.Tensor:
    """Returns the trained table E [buckets, dim]. Adam is applied lazily: only the rows a batch
    touches are gathered, updated and written back (like fastText's sparse updates)."""
    rng = random.Random(args.seed)
    E0 = init_table(args.buckets, args.dim, args.init_std, args.seed)
    E = E0.clone()
    m1 = torch.zeros_like(E)
    m2 = torch.zeros_like(E)
    b1, b2, eps = 0.9, 0.999, 1e-8
    titles = [p["title"] for p in products]
    docs = [product_text(p) for p in products]
    views = [product_views(p) for p in products]
    postings = Postings([fz(d)[2] for d in docs])
    n = len(train_idx)
    bs = min(args.batch, n)
    steps_per_epoch = max(1, n // bs)
    total = args.epochs * steps_per_epoch
    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        order = train_idx[:]
        rng.shuffle(order)
        run = 0.0
        for s in range(steps_per_epoch):
            batch = order[s * bs : (s + 1) * bs]
            pairs = [sample_pair(products[i], titles[i], docs[i], views[i], rng) for i in batch]
            anchors = [a for a, _ in pairs]
            mask = positive_mask([fz(a)[2] for a in anchors], batch, postings).float()
            a_ids, a_w, a_off = fz.bag(anchors)
            p_ids, p_w, p_off = fz.bag([p for _, p in pairs])
            uniq, inv = torch.unique(torch.cat([a_ids, p_ids]), return_inverse=True)
            sub = E[uniq].requires_grad_()
            a = embed(sub, inv[: len(a_ids)], a_w, a_off)
            p = embed(sub, inv[len(a_ids) :], p_w, p_off)
            logits = a @ p.T / args.temperature
            loss_a = -(mask / mask.sum(1, keepdim=True) * F.log_softmax(logits, 1)).sum(1).mean()
            mt = mask.T
            loss_p = -(mt / mt.sum(1, keepdim=True) * F.log_softmax(logits.T, 1)).sum(1).mean()
            loss = 0.5 * (loss_a + loss_p)
            loss.backward()
            with torch.no_grad():
                g = sub.grad
                lr = args.lr * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / total))
                mu = m1[uniq].mul_(b1).add_(g, alpha=1 - b1)
                nu = m2[uniq].mul_(b2).addcmul_(g, g, value=1 - b2)
                m1[uniq] = mu
                m2[uniq] = nu
                t = step + 1
                upd = (mu / (1 - b1**t)) / ((nu / (1 - b2**t)).sqrt_().add_(eps))
                old = sub.detach()
                # Decoupled decay towards the random init (not towards 0): rows keep the random
                # projection that gives unseen catalogs lexical matching, and learn an offset.
                E[uniq] = old - lr * (upd + args.anchor_decay * (old - E0[uniq]))
                E[0] = 0
            run += loss.item()
            step += 1
        if epoch == 0 or (epoch + 1) % max(1, args.epochs // 6) == 0 or epoch + 1 == args.epochs:
            print(f"{log_prefix} epoch {epoch + 1:4d}/{args.epochs} loss {run / steps_per_epoch:.4f} ({time.time() - t0:.0f}s)", flush=True)
    return E


def evaluate(E: torch.Tensor, fz: Featurizer, products: list[dict], query_idx: list[int], args):
    rng = random.Random(args.seed + 1_000_003)  # a different stream from training
    docs = [product_text(p) for p in products]
    queries = []
    gold = []
    for i in query_idx:
        for _ in range(args.eval_queries_per_product):
            queries.append(make_query(products[i]["title"], rng, min_units=2))
            gold.append(i)
    D = embed_all(E, fz, docs)
    Q = embed_all(E, fz, queries)
    return rank_metrics(Q @ D.T, gold), queries, gold


def export_onnx(weight: np.ndarray, path: Path, dtype: str) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    E = weight.astype(np.float16 if dtype == "float16" else np.float32)
    E[0] = 0
    init = [
        numpy_helper.from_array(E, "E"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([1e-12], np.float32), "eps"),
    ]
    # rows = E[ids] (cast to float32 after the gather, so only the used rows are converted);
    # summed = weights[b, 1, n] @ rows[b, n, dim]; embeddings = summed / max(|summed|, eps).
    nodes = [helper.make_node("Gather", ["E", "ids"], ["rows"], axis=0)]
    rows = "rows"
    if dtype == "float16":
        nodes.append(helper.make_node("Cast", ["rows"], ["rows32"], to=TensorProto.FLOAT))
        rows = "rows32"
    nodes += [
        helper.make_node("Unsqueeze", ["weights", "axis1"], ["w3"]),
        helper.make_node("MatMul", ["w3", rows], ["summed3"]),
        helper.make_node("Squeeze", ["summed3", "axis1"], ["summed"]),
        helper.make_node("Mul", ["summed", "summed"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "axis1"], ["sumsq"], keepdims=1),
        helper.make_node("Sqrt", ["sumsq"], ["norm"]),
        helper.make_node("Max", ["norm", "eps"], ["safe_norm"]),
        helper.make_node("Div", ["summed", "safe_norm"], ["embeddings"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ngram_embedding_bag",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "n"]),
            helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["batch", "n"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", E.shape[1]])],
        initializer=init,
    )
    m = helper.make_model(graph, producer_name="shelf models/text_embedder/train.py", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(m.SerializeToString())


def reference_embed(weight: np.ndarray, text: str, buckets: int) -> np.ndarray:
    """numpy forward pass of the exported graph (the ONNX model must reproduce it)."""
    ids, w = feat.featurize(text, buckets)
    v = (weight[ids].astype(np.float32) * np.asarray(w, np.float32)[:, None]).sum(0) if ids else np.zeros(weight.shape[1], np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


# ---- training on a judged set (queries and what shoppers or judges called relevant) -----------


def sparse_adam_step(E, E0, m1, m2, uniq, grad, step, lr, anchor_decay):
    """One lazy Adam step on the touched rows `uniq` (see train())."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    mu = m1[uniq].mul_(b1).add_(grad, alpha=1 - b1)
    nu = m2[uniq].mul_(b2).addcmul_(grad, grad, value=1 - b2)
    m1[uniq] = mu
    m2[uniq] = nu
    t = step + 1
    upd = (mu / (1 - b1**t)) / ((nu / (1 - b2**t)).sqrt_().add_(eps))
    old = E[uniq]
    E[uniq] = old - lr * (upd + anchor_decay * (old - E0[uniq]))
    E[0] = 0


class JudgedSet:
    """Products, the training queries with their positives and hard negatives, and the splits."""

    def __init__(self, data_dir: Path, args):
        self.dir = data_dir
        self.products = judged.read_products(data_dir / "products.jsonl")
        self.queries = judged.read_queries(data_dir / "queries.tsv")
        self.qrels = judged.read_qrels(data_dir / "qrels.tsv")
        self.index = {p["id"]: i for i, p in enumerate(self.products)}
        self.docs = [product_text(p) for p in self.products]
        usable = [q for q in self.queries if any(pid in self.index for pid in self.qrels.get(q, {}))]
        # Held out: the share of queries whose split unit is at least 1 - F (tune-fusion's test half
        # for F = 0.5); validation (threshold calibration): a seeded share of the rest.
        f = args.holdout_fraction
        self.heldout = sorted(q for q in usable if f > 0 and judged.split_unit(q, args.seed) >= 1 - f)
        hold = set(self.heldout)
        rest = [q for q in usable if q not in hold]
        v = args.val_fraction
        self.val = sorted(q for q in rest if v > 0 and judged.split_unit(q, args.seed + 1) < v)
        val = set(self.val)
        self.train = [q for q in rest if q not in val]

    def positives(self, q: str) -> list[int]:
        return [self.index[p] for p, g in self.qrels.get(q, {}).items() if g >= judged.POSITIVE_GRADE and p in self.index]

    def graded(self, q: str) -> dict[int, int]:
        return {self.index[p]: g for p, g in self.qrels.get(q, {}).items() if p in self.index}


def mine_hard_negatives(ds: JudgedSet, bm25, queries: list[str], depth: int) -> dict[str, list[int]]:
    """Per query: judged-irrelevant products (grade 0: a judge said no, or a shopper was shown it and
    skipped it) and BM25's top `depth` products that are not judged at all; products judged
    somewhat relevant (grade 1) are neither positives nor negatives."""
    out: dict[str, list[int]] = {}
    for q in queries:
        g = ds.graded(q)
        neg = [i for i, grade in g.items() if grade == 0]
        seen = set(neg)
        for i in bm25.top(ds.queries[q], depth):
            if i not in g and i not in seen:
                neg.append(i)
                seen.add(i)
        out[q] = neg
    return out


def augment_query(q: str, rng: random.Random) -> str:
    """A shopper's variant of a training query (--query-augment): one word left out (queries of
    three or more words), a typo in one word, or the last word still being typed."""
    words = q.split()
    u = rng.random()
    if len(words) >= 3 and u < 0.4:
        del words[rng.randrange(len(words))]
    elif u < 0.8:
        j = rng.randrange(len(words))
        words[j] = _typo(words[j], rng)
    elif len(words[-1]) >= 5:
        words[-1] = words[-1][: rng.randint(3, len(words[-1]) - 1)]
    return " ".join(words)


class JudgedBatches:
    """The rows of judged training, batch by batch, whatever encodes them: shoppers' queries with
    one of their positives and one hard negative, and (a share --view-ratio of the query rows) the
    catalog's self-supervised views (partial titles, category/brand/tag/attribute/description views)
    of uniformly drawn products, which keep products nobody searched for covered. The candidates are
    every row's positive and hard negative; the anchor's positives among them are its judged
    positives (queries) or the products whose text holds every anchor word (views); grade-1
    products are masked out of a query's softmax."""

    def __init__(self, ds: JudgedSet, fz: Featurizer, hard: dict[str, list[int]], args):
        self.ds, self.fz, self.hard, self.args = ds, fz, hard, args
        self.titles = [p["title"] for p in ds.products]
        self.views = [product_views(p) for p in ds.products]
        self.postings = Postings([fz(d)[2] for d in ds.docs])
        self.pos = {q: ds.positives(q) for q in ds.train}
        self.train_q = [q for q in ds.train if self.pos[q]]
        self.graded = {q: ds.graded(q) for q in self.train_q}
        self.n_views = int(round(len(self.train_q) * args.view_ratio))
        self.rows_per_epoch = len(self.train_q) + self.n_views
        self.bs = max(2, min(args.batch, self.rows_per_epoch))
        self.steps_per_epoch = max(1, self.rows_per_epoch // self.bs)
        self.stats = {"query_rows": 0, "view_rows": 0, "hard_negatives": 0, "augmented_queries": 0}

    def epoch(self, rng: random.Random):
        """Yields (anchor texts, candidate product indices, positive mask, blocked mask) per step."""
        ds, args, products = self.ds, self.args, self.ds.products
        rows: list[tuple] = [("q", q) for q in self.train_q] + [("v", rng.randrange(len(products))) for _ in range(self.n_views)]
        rng.shuffle(rows)
        for s in range(self.steps_per_epoch):
            batch = rows[s * self.bs : (s + 1) * self.bs]
            anchors: list[str] = []
            anchor_sets: list = []
            own: list[int] = []
            negs: list[int | None] = []
            extra_negs: list[int] = []
            for kind, x in batch:
                if kind == "q":
                    text = ds.queries[x]
                    if args.query_augment > 0 and rng.random() < args.query_augment:
                        text = augment_query(text, rng)
                        self.stats["augmented_queries"] += 1
                    anchors.append(text)
                    anchor_sets.append(None)
                    own.append(rng.choice(self.pos[x]))
                    h = self.hard.get(x) or []
                    negs.append(rng.choice(h) if h and rng.random() < args.hard_negative_rate else None)
                    if negs[-1] is not None and args.hard_negatives > 1:
                        # More negatives from the same query's list; extra candidate columns only.
                        rest = [n for n in h if n != negs[-1]]
                        extra_negs.extend(rng.sample(rest, min(len(rest), args.hard_negatives - 1)))
                    self.stats["query_rows"] += 1
                    self.stats["hard_negatives"] += negs[-1] is not None
                else:
                    a, _ = sample_pair(products[x], self.titles[x], ds.docs[x], self.views[x], rng)
                    anchors.append(a)
                    anchor_sets.append(self.fz(a)[2])
                    own.append(x)
                    negs.append(None)
                    self.stats["view_rows"] += 1
            cands = list(dict.fromkeys(own + [n for n in negs if n is not None] + extra_negs))
            col = {p: j for j, p in enumerate(cands)}
            mask = np.zeros((len(batch), len(cands)), bool)
            block = np.zeros((len(batch), len(cands)), bool)
            for i, (kind, x) in enumerate(batch):
                if kind == "q":
                    g = self.graded[x]
                    for j, p in enumerate(cands):
                        grade = g.get(p)
                        if grade is not None and grade >= judged.POSITIVE_GRADE:
                            mask[i, j] = True
                        elif grade == 1:
                            block[i, j] = True
                else:
                    mask[i, col[own[i]]] = True
                    for p in self.postings.containing_all(anchor_sets[i]).tolist():
                        j = col.get(p)
                        if j is not None:
                            mask[i, j] = True
            yield anchors, cands, mask, block


def multi_positive_infonce(a: torch.Tensor, c: torch.Tensor, mask: np.ndarray, block: np.ndarray, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE with several positives per row (their mean log-likelihood): anchors pick
    their candidates, and each candidate that is someone's positive picks its anchors."""
    maskt = torch.from_numpy(mask).float()
    logits = (a @ c.T / temperature).masked_fill(torch.from_numpy(block), -1e4)
    loss_a = -(maskt / maskt.sum(1, keepdim=True) * F.log_softmax(logits, 1)).sum(1).mean()
    cols = maskt.sum(0) > 0
    mt = maskt.T[cols]
    loss_p = -(mt / mt.sum(1, keepdim=True) * F.log_softmax(logits.T[cols], 1)).sum(1).mean()
    return 0.5 * (loss_a + loss_p)


def lr_at(step: int, total: int, base_lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 0 at `total`."""
    return base_lr * min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * step / max(1, total)))


def train_judged(ds: JudgedSet, fz: Featurizer, hard: dict[str, list[int]], args, log_prefix: str) -> tuple[torch.Tensor, dict]:
    """The n-gram tower on JudgedBatches' rows (lazy sparse Adam on the rows a batch touches)."""
    rng = random.Random(args.seed)
    E0 = init_table(args.buckets, args.dim, args.init_std, args.seed)
    E = E0.clone()
    m1 = torch.zeros_like(E)
    m2 = torch.zeros_like(E)
    jb = JudgedBatches(ds, fz, hard, args)
    total = args.epochs * jb.steps_per_epoch
    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        run = 0.0
        for anchors, cands, mask, block in jb.epoch(rng):
            a_ids, a_w, a_off = fz.bag(anchors)
            c_ids, c_w, c_off = fz.bag([ds.docs[p] for p in cands])
            uniq, inv = torch.unique(torch.cat([a_ids, c_ids]), return_inverse=True)
            sub = E[uniq].requires_grad_()
            a = embed(sub, inv[: len(a_ids)], a_w, a_off)
            c = embed(sub, inv[len(a_ids) :], c_w, c_off)
            loss = multi_positive_infonce(a, c, mask, block, args.temperature)
            loss.backward()
            with torch.no_grad():
                lr = lr_at(step, total, args.lr, 20)
                sparse_adam_step(E, E0, m1, m2, uniq, sub.grad, step, lr, args.anchor_decay)
            run += loss.item()
            step += 1
        if epoch == 0 or (epoch + 1) % max(1, args.epochs // 6) == 0 or epoch + 1 == args.epochs:
            print(f"{log_prefix} epoch {epoch + 1:4d}/{args.epochs} loss {run / jb.steps_per_epoch:.4f} ({time.time() - t0:.0f}s)", flush=True)
    stats = dict(jb.stats, steps=step, batch=jb.bs, rows_per_epoch=jb.rows_per_epoch)
    return E, stats


def train_base(ds: JudgedSet, fz: Featurizer, hard: dict[str, list[int]], enc, args, log_prefix: str) -> dict:
    """Fine-tunes a pretrained encoder (bert.SentenceEncoder, in place) on JudgedBatches' rows with
    the same objective: AdamW, 10% warm-up then cosine decay, gradient norm clipped at 1, dropout on.
    --steps optimiser steps (whole epochs with --epochs)."""
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    jb = JudgedBatches(ds, fz, hard, args)
    total = args.epochs * jb.steps_per_epoch if args.epochs > 0 else args.steps
    warmup = max(1, total // 10)
    model = enc.model
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    step = 0
    t0 = time.time()
    run, n_run = 0.0, 0
    every = max(1, total // 10)
    while step < total:
        for anchors, cands, mask, block in jb.epoch(rng):
            a = enc(anchors)
            c = enc([ds.docs[p] for p in cands])
            loss = multi_positive_infonce(a, c, mask, block, args.temperature)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, args.lr, warmup)
            opt.step()
            run += loss.item()
            n_run += 1
            step += 1
            if step % every == 0 or step == total:
                print(f"{log_prefix} step {step:5d}/{total} loss {run / n_run:.4f} ({time.time() - t0:.0f}s)", flush=True)
                run, n_run = 0.0, 0
            if step >= total:
                break
    model.eval()
    return dict(jb.stats, steps=step, batch=jb.bs, rows_per_epoch=jb.rows_per_epoch, warmup=warmup)


def vector_rankings(encode, ds: JudgedSet, qids: list[str], D: torch.Tensor, k: int = 100):
    """Top k product ids per query by cosine (`encode`: texts -> unit vectors)."""
    out: dict[str, list[str]] = {}
    Q = encode([ds.queries[q] for q in qids])
    for s in range(0, len(qids), 256):
        top = (Q[s : s + 256] @ D.T).topk(min(k, D.shape[0]), dim=1).indices.tolist()
        for q, row in zip(qids[s : s + 256], top):
            out[q] = [ds.products[i]["id"] for i in row]
    return out


def threshold_pairs(encode, ds: JudgedSet, qids: list[str], D, seed: int):
    """(cosine, relevant) pairs: each query's judged products (relevant = grade >= 2) and as many
    products drawn at random from the catalog as it has positives (not relevant: what a query the
    shop has nothing for meets). Unjudged close neighbours are left out: sparse judgments cannot
    say whether they are relevant. `D`: every product's vector, or a function giving the vectors
    of the product indices asked for (only those products are then embedded)."""
    rng = random.Random(seed + 31)
    if not qids:
        return np.zeros(0, np.float32), np.zeros(0, bool)
    n = len(ds.products)
    pairs: list[tuple[int, int, bool]] = []
    for r, q in enumerate(qids):
        g = ds.graded(q)
        for i, grade in g.items():
            pairs.append((r, i, grade >= judged.POSITIVE_GRADE))
        for _ in range(sum(1 for grade in g.values() if grade >= judged.POSITIVE_GRADE)):
            i = rng.randrange(n)
            if i not in g:
                pairs.append((r, i, False))
    Q = encode([ds.queries[q] for q in qids])
    if callable(D):
        need = sorted({i for _, i, _ in pairs})
        row = {i: j for j, i in enumerate(need)}
        V = D(need)
        vec = lambda i: V[row[i]]  # noqa: E731
    else:
        vec = lambda i: D[i]  # noqa: E731
    scores = np.asarray([float(Q[r] @ vec(i)) for r, i, _ in pairs], np.float32)
    return scores, np.asarray([y for _, _, y in pairs], bool)


def calibrate_and_measure(ds: JudgedSet, bm25, encode, D: torch.Tensor, args, before=None) -> tuple[float, dict, dict]:
    """The similarity threshold (maximum F1 of "relevant" on the validation queries, never trained
    on) and the vector route's ranking metrics on the held-out and validation queries, with the
    trainer's BM25 and `before` = (encode, D) of the untrained model for reference."""
    cal_q = ds.val or ds.train
    s_val, y_val = threshold_pairs(encode, ds, cal_q, D, args.seed)
    cal = judged.best_f1_threshold(s_val, y_val)
    threshold = cal["threshold"] if cal["threshold"] is not None else 0.35
    metrics: dict = {"k": 10, "candidates": len(ds.products)}
    if callable(D):  # --no-catalog-metrics: the threshold only
        metrics["not_measured"] = "catalog-wide ranking metrics (--no-catalog-metrics): see npm run eval -- search"
        return threshold, cal, metrics
    for name, qids in (("heldout", ds.heldout), ("validation", ds.val)):
        if not qids:
            continue
        bm = {q: [ds.products[i]["id"] for i in bm25.top(ds.queries[q], 100)] for q in qids}
        metrics[name] = {"queries": len(qids), "bm25": judged.rank_report(bm, ds.qrels)}
        if before is not None:
            metrics[name]["vector_before_training"] = judged.rank_report(vector_rankings(before[0], ds, qids, before[1]), ds.qrels)
        metrics[name]["vector"] = judged.rank_report(vector_rankings(encode, ds, qids, D), ds.qrels)
    if ds.heldout:
        s_h, y_h = threshold_pairs(encode, ds, ds.heldout, D, args.seed)
        metrics["heldout"]["threshold_f1"] = judged.f1_at(s_h, y_h, threshold)
    return threshold, cal, metrics


def main_judged(args) -> None:
    """--data DIR: train on a judged set (or the judged set `npm run train -- text-embedder --logs`
    joins from a service's logs), hold out queries, measure, calibrate, export, write the card."""
    t_start = time.time()
    data = Path(args.data)
    ds = JudgedSet(data, args)
    n = len(ds.products)
    if n < 2 or not ds.train:
        sys.exit(f"{data}: {n} products and {len(ds.train)} training queries with a judged product: nothing to train on")
    fz = Featurizer(args.buckets)
    print(
        f"judged set {data}: products={n} queries: train={len(ds.train)} validation={len(ds.val)} held-out={len(ds.heldout)} "
        f"dim={args.dim} buckets={args.buckets}",
        flush=True,
    )
    t_mine = time.time()
    bm25 = judged.BM25(ds.docs)
    hard = mine_hard_negatives(ds, bm25, ds.train, args.hard_negative_depth) if args.hard_negative_rate > 0 else {}
    mine_s = time.time() - t_mine
    if args.base:
        main_base(args, ds, fz, bm25, hard, mine_s, t_start)
        return
    if args.epochs <= 0:
        rows = len(ds.train) * (1 + args.view_ratio)
        args.epochs = max(3, round(args.steps / max(1, rows // min(args.batch, max(2, rows)))))
    t_train = time.time()
    E, stats = train_judged(ds, fz, hard, args, "[train]")
    train_s = time.time() - t_train

    W = E.numpy().copy()
    W[0] = 0
    W_ship = torch.from_numpy(W.astype(np.float16).astype(np.float32)) if args.weights_dtype == "float16" else torch.from_numpy(W)
    E_init = init_table(args.buckets, args.dim, args.init_std, args.seed)
    D = embed_all(W_ship, fz, ds.docs)
    D_init = embed_all(E_init, fz, ds.docs)
    threshold, cal, metrics = calibrate_and_measure(
        ds, bm25, lambda texts: embed_all(W_ship, fz, texts), D, args, before=(lambda texts: embed_all(E_init, fz, texts), D_init)
    )
    cal_q = ds.val or ds.train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    export_onnx(W, onnx_path, args.weights_dtype)
    sha_model = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    # The held-out query ids: `npm run eval -- search --queries-from OUT/heldout-queries.tsv`.
    (out / "heldout-queries.tsv").write_text("".join(f"{q}\t{ds.queries[q]}\n" for q in ds.heldout), encoding="utf-8")
    (out / "validation-queries.tsv").write_text("".join(f"{q}\t{ds.queries[q]}\n" for q in ds.val), encoding="utf-8")

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""

    meta = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "dim": args.dim,
        "buckets": args.buckets,
        "featurizer_version": feat.FEATURIZER_VERSION,
        "weights_dtype": args.weights_dtype,
        "trained_on": {
            "source": args.source or f"--data {data}",
            "data_dir": str(data),
            "products": n,
            "queries": {"train": len(ds.train), "validation": len(ds.val), "heldout": len(ds.heldout)},
            "sha256": {f: sha(data / f) for f in ("products.jsonl", "queries.tsv", "qrels.tsv")},
        },
        "model_sha256": sha_model,
        "training": {
            "seed": args.seed,
            "holdout_fraction": args.holdout_fraction,
            "val_fraction": args.val_fraction,
            "epochs": args.epochs,
            "batch": stats["batch"],
            "steps": stats["steps"],
            "lr": args.lr,
            "temperature": args.temperature,
            "init_std": args.init_std,
            "anchor_decay": args.anchor_decay,
            **shared_recipe(args, stats),
            "seconds": {"mine_hard_negatives": round(mine_s, 1), "train": round(train_s, 1), "total": None},
            "threads": args.threads,
        },
        "metrics": metrics,
        "similarity_threshold": threshold,
        "similarity_threshold_calibration": {
            "method": "maximum F1 of cosine >= t for 'relevant' (grade >= 2) vs not (judged grade <= 1, and as many random catalog products as the query has positives), on validation queries never trained on",
            "queries": len(cal_q),
            "on": "validation" if ds.val else "training (no validation share)",
            **cal,
        },
        "created_by": "models/text_embedder/train.py --data",
    }
    meta["training"]["seconds"]["total"] = round(time.time() - t_start, 1)
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    report_done(metrics, threshold, cal, onnx_path, sha_model, t_start)


def report_done(metrics: dict, threshold: float, cal: dict, onnx_path: Path, sha_model: str, t_start: float) -> None:
    h = metrics.get("heldout")
    if h:
        before = h.get("vector_before_training")
        print(
            f"held-out ({h['queries']} queries) nDCG@10: bm25 {h['bm25']['ndcg@10']:.4f} | "
            + (f"vector before training {before['ndcg@10']:.4f} | " if before else "")
            + f"vector {h['vector']['ndcg@10']:.4f}; recall@10 vector {h['vector']['recall@10']:.4f}"
        )
    print(f"similarity_threshold {threshold} (validation F1 {cal['f1']})")
    print(f"wrote {onnx_path} (sha256 {sha_model[:12]}), metadata.json, MODEL_CARD.md, heldout-queries.tsv in {time.time() - t_start:.0f}s")


def file_sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""


# Sentences whose embeddings the fine-tuned model's metadata records (torch, fp32): the service
# must reproduce them through transformers.js (train.test.ts), which checks the tokenizer port,
# the pooling and the ONNX export together.
CHECK_MAX_LENGTH = 256  # TransformersEmbedder's default cut
CHECK_TEXTS = ["sofa", "Cordless power drill, 18V (2 batteries)", "Crème brûlée torch & café mug", "跑步鞋 running shoes"]


def main_base(args, ds: JudgedSet, fz: Featurizer, bm25, hard: dict[str, list[int]], mine_s: float, t_start: float) -> None:
    """--base MODEL_DIR: fine-tune a transformers.js BERT encoder on the judged set with the same
    rows and objective as the n-gram tower, measure and calibrate it, export the same layout."""
    import bert

    base_dir = Path(args.base).resolve()
    model, tok, config = bert.load_base(base_dir)
    enc = bert.SentenceEncoder(model, tok, args.max_length)
    print(
        f"base {base_dir}: {config.get('num_hidden_layers')} layers, {config['hidden_size']} dimensions, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters; max_length {args.max_length}",
        flush=True,
    )
    # The loaded base's own embeddings: the service must give the same from the base folder
    # (train.test.ts), which proves the weights were read from the ONNX graph correctly.
    # At the service's length (256 tokens), not the training cut.
    check_enc = bert.SentenceEncoder(model, tok, CHECK_MAX_LENGTH)
    base_check = [[round(float(x), 6) for x in v] for v in check_enc.encode(CHECK_TEXTS)]
    before = None
    if args.eval_base:
        # The untrained base on the same queries (one more embedding of the whole catalog).
        D0 = enc.encode(ds.docs)
        _, _, m0 = calibrate_and_measure(ds, bm25, enc.encode, D0, args)
        before = {k: v["vector"] for k, v in m0.items() if isinstance(v, dict) and "vector" in v}
        del D0
    t_train = time.time()
    stats = train_base(ds, fz, hard, enc, args, "[fine-tune]")
    train_s = time.time() - t_train
    t_eval = time.time()
    D = enc.encode(ds.docs) if args.catalog_metrics else (lambda idx: enc.encode([ds.docs[i] for i in idx]))
    threshold, cal, metrics = calibrate_and_measure(ds, bm25, enc.encode, D, args)
    for split, m in (before or {}).items():
        if split in metrics:
            metrics[split] = {k: v for k, v in metrics[split].items() if k != "vector"} | {"vector_before_training": m, "vector": metrics[split]["vector"]}
    eval_s = time.time() - t_eval

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exported = bert.export_folder(model, tok, base_dir, out, quantize=not args.no_quantize)
    onnx_path = out / "onnx" / "model.onnx"
    sha_model = file_sha(onnx_path)
    check = {"texts": CHECK_TEXTS, "embeddings": [[round(float(x), 6) for x in v] for v in check_enc.encode(CHECK_TEXTS)]}
    (out / "heldout-queries.tsv").write_text("".join(f"{q}\t{ds.queries[q]}\n" for q in ds.heldout), encoding="utf-8")
    (out / "validation-queries.tsv").write_text("".join(f"{q}\t{ds.queries[q]}\n" for q in ds.val), encoding="utf-8")
    data = Path(args.data)
    base_meta = {}
    if (base_dir / "metadata.json").exists():
        base_meta = json.loads((base_dir / "metadata.json").read_text(encoding="utf-8"))
    base_name = base_meta.get("name") or base_dir.name
    meta = {
        "name": f"{base_name}-shelf-ft",
        "version": "v1",
        "dim": config["hidden_size"],
        "base": {"name": base_name, "dir": str(base_dir), "onnx_sha256": file_sha(base_dir / "onnx" / "model.onnx"), "config": {
            k: config.get(k) for k in ("model_type", "num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")},
            "check_embeddings": base_check},
        "pooling": "mean",
        "normalize": True,
        "max_length": args.max_length,
        "trained_on": {
            "source": args.source or f"--data {data}",
            "data_dir": str(data),
            "products": len(ds.products),
            "queries": {"train": len(ds.train), "validation": len(ds.val), "heldout": len(ds.heldout)},
            "sha256": {f: file_sha(data / f) for f in ("products.jsonl", "queries.tsv", "qrels.tsv")},
        },
        "model_sha256": sha_model,
        "export": {"opset": bert.OPSET, "torch": torch.__version__, **exported},
        "training": {
            "seed": args.seed,
            "holdout_fraction": args.holdout_fraction,
            "val_fraction": args.val_fraction,
            "batch": stats["batch"],
            "steps": stats["steps"],
            "warmup_steps": stats["warmup"],
            "lr": args.lr,
            "weight_decay": 0.01,
            "temperature": args.temperature,
            "max_length": args.max_length,
            **shared_recipe(args, stats, "; every weight of the base encoder trained (dropout on)"),
            "seconds": {"mine_hard_negatives": round(mine_s, 1), "train": round(train_s, 1), "evaluate": round(eval_s, 1), "total": None},
            "threads": args.threads,
        },
        "metrics": metrics,
        "similarity_threshold": threshold,
        "similarity_threshold_calibration": {
            "method": "maximum F1 of cosine >= t for 'relevant' (grade >= 2) vs not (judged grade <= 1, and as many random catalog products as the query has positives), on validation queries never trained on",
            "queries": len(ds.val or ds.train),
            "on": "validation" if ds.val else "training (no validation share)",
            **cal,
        },
        "check": check,
        "created_by": "models/text_embedder/train.py --data --base",
    }
    meta["training"]["seconds"]["total"] = round(time.time() - t_start, 1)
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    report_done(metrics, threshold, cal, onnx_path, sha_model, t_start)


def model_card(meta: dict) -> str:
    t, m, tr = meta["training"], meta["metrics"], meta["trained_on"]
    base = meta.get("base")
    if base:
        head = [
            f"Fine-tuned from `{base['name']}` ({base['dir']}, onnx/model.onnx sha256 {base['onnx_sha256'][:12]}): a BERT encoder in",
            f"transformers.js layout (`core/embedding/transformers-embedder.ts` serves it; mean pooling, normalised), {meta['dim']} dimensions,",
            f"onnx/model.onnx fp32{' and onnx/model_quantized.onnx int8 (loaded by default)' if meta['export']['quantized'] else ' only (no onnxruntime quantizer in the training interpreter)'}.",
        ]
    else:
        head = [
            "Hashed n-gram embedding bag (DSSM-style text tower; `core/embedding/ngram-embedder.ts` serves it),",
            f"{meta['dim']} dimensions, {meta['buckets']} buckets, featurizer {meta['featurizer_version']}, weights {meta['weights_dtype']}.",
        ]
    lines = [
        f"# {meta['name']} {meta['version']} ({meta['model_sha256'][:12]})",
        "",
        *head,
        "",
        "## Data",
        f"- Source: {tr['source']}",
        f"- {tr['products']} products; queries: {tr['queries']['train']} trained on, {tr['queries']['validation']} validation "
        f"(threshold calibration), {tr['queries']['heldout']} held out (`heldout-queries.tsv`; "
        f"`--holdout-fraction {t['holdout_fraction']} --seed {t['seed']}`).",
        "",
        "## Objective",
        f"- {t['objective']}.",
        (
            f"- Seed {t['seed']}, {t['steps']} steps of batch {t['batch']}, AdamW lr {t['lr']} (warm-up {t['warmup_steps']} steps, cosine decay), "
            f"temperature {t['temperature']}, {t['max_length']} tokens per text, "
            if base
            else f"- Seed {t['seed']}, {t['epochs']} epochs, {t['steps']} steps of batch {t['batch']}, lr {t['lr']}, temperature {t['temperature']}, "
        )
        + f"view ratio {t['view_ratio']}, hard-negative rate {t['hard_negative_rate']} (BM25 depth {t['hard_negative_depth']}); "
        f"CPU, {t['threads']} thread(s), deterministic. Training took {t['seconds']['train']} s ({t['seconds']['total']} s in all).",
        "",
        "## Held-out metrics (vector route alone, all products as candidates)",
        "",
        "| queries | route | nDCG@10 | recall@10 | recall@100 | MRR@10 |",
        "|---|---|---|---|---|---|",
    ]
    if m.get("not_measured"):
        lines.append(f"| | not measured: {m['not_measured']} | | | | |")
    for split in ("heldout", "validation"):
        if split not in m:
            continue
        for route in ("bm25", "vector_before_training", "vector"):
            if route not in m[split]:
                continue
            r = m[split][route]
            lines.append(
                f"| {split} ({m[split]['queries']}) | {route.replace('_', ' ')} | {r.get('ndcg@10', 0):.4f} | {r.get('recall@10', 0):.4f} | "
                f"{r.get('recall@100', 0):.4f} | {r.get('mrr@10', 0):.4f} |"
            )
    c = meta["similarity_threshold_calibration"]
    lines += [
        "",
        "## Similarity threshold",
        f"`similarity_threshold` = **{meta['similarity_threshold']}** (the match set's default `retrieval.match.min_similarity`): "
        f"{c['method']}; on {c['queries']} {c['on']} queries: F1 {c['f1']}, precision {c['precision']}, recall {c['recall']} "
        f"({c['pairs']} pairs, {c['relevant']} relevant).",
    ]
    if "heldout" in m and "threshold_f1" in m["heldout"]:
        f = m["heldout"]["threshold_f1"]
        lines.append(f"On the held-out queries the same threshold gives F1 {f['f1']} (precision {f['precision']}, recall {f['recall']}).")
    lines += ["", "BM25 here is the trainer's own (Okapi, k1 1.2, b 0.75, for mining); the service's numbers come from `npm run eval -- search`.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", default=str(REPO / "data/demo/catalog.jsonl"))
    ap.add_argument("--out", default=str(REPO / "models/default/text-embedder"))
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--buckets", type=int, default=feat.DEFAULT_BUCKETS)
    ap.add_argument("--epochs", type=int, default=0, help="0 = derive from --steps")
    ap.add_argument("--steps", type=int, default=300, help="approximate optimiser steps when --epochs is 0")
    ap.add_argument("--batch", type=int, default=None, help="rows per batch (default 256; 32 with --base)")
    ap.add_argument("--lr", type=float, default=None, help="learning rate (default 0.002; 3e-5 with --base)")
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--anchor-decay", type=float, default=5.0, help="decoupled decay of touched rows towards their random init")
    ap.add_argument("--init-std", type=float, default=0.1)
    ap.add_argument("--holdout", type=float, default=0.2, help="fraction of products held out for the unseen-product metric")
    ap.add_argument("--eval-queries-per-product", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for these tiny ops, and deterministic)")
    ap.add_argument("--weights-dtype", choices=["float16", "float32"], default="float16")
    ap.add_argument("--extra-eval", help="another catalog (JSON Lines) to measure the shipped model on, out of domain")
    ap.add_argument("--no-final-all", action="store_true", help="ship the model trained without the held-out products")
    j = ap.add_argument_group("judged set (--data DIR: products.jsonl, queries.tsv, qrels.tsv; grade >= 2 positive)")
    j.add_argument("--data", help="train on this judged set instead of the catalog's views alone (--catalog is then ignored)")
    j.add_argument("--holdout-fraction", type=float, default=0.0, help="share of queries left out of training, measured in the card (default 0)")
    j.add_argument("--val-fraction", type=float, default=0.1, help="share of the other queries kept for the threshold calibration (default 0.1)")
    j.add_argument("--view-ratio", type=float, default=1.0, help="catalog-view rows per query row (default 1.0)")
    j.add_argument("--hard-negative-rate", type=float, default=1.0, help="share of query rows given a hard negative (default 1.0)")
    j.add_argument("--hard-negative-depth", type=int, default=20, help="BM25 results per query mined for hard negatives (default 20)")
    j.add_argument("--hard-negatives", type=int, default=1, help="hard negatives per query row that gets one (default 1)")
    j.add_argument("--query-augment", type=float, default=0.0, help="share of query rows whose text is varied (a word dropped, a typo, cut short; default 0)")
    j.add_argument("--source", help="free text for the model card (where the data came from)")
    b = ap.add_argument_group("fine-tuning a pretrained encoder (--data/--logs with --base MODEL_DIR)")
    b.add_argument("--base", help="transformers.js BERT folder (config.json, tokenizer.json, onnx/model.onnx) to fine-tune; --out gets the same layout")
    b.add_argument("--max-length", type=int, default=64, help="tokens per text while fine-tuning and measuring, [CLS]/[SEP] included (default 64)")
    b.add_argument("--eval-base", action="store_true", help="also measure the base before fine-tuning (one more embedding of the catalog)")
    b.add_argument(
        "--no-catalog-metrics",
        dest="catalog_metrics",
        action="store_false",
        help="skip the card's catalog-wide ranking metrics (an embedding of every product; npm run eval -- search measures them "
        "through the service); the threshold is still calibrated on the validation queries' judged products",
    )
    b.add_argument("--no-quantize", action="store_true", help="do not write onnx/model_quantized.onnx (written when the interpreter has onnxruntime)")
    args = ap.parse_args()
    if args.base and not args.data:
        sys.exit("--base fine-tunes on queries: give --data DIR (or --logs through npm run train)")
    if args.base and args.max_length < 8:
        sys.exit("--max-length must be at least 8")
    if args.batch is None:
        args.batch = 32 if args.base else 256
    if args.lr is None:
        args.lr = 3e-5 if args.base else 0.002

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.data:
        if not 0 <= args.holdout_fraction < 1 or not 0 <= args.val_fraction < 1:
            sys.exit("--holdout-fraction and --val-fraction must be in [0, 1)")
        if args.steps == 300 and args.epochs <= 0 and not args.base:
            args.steps = 600
        main_judged(args)
        return
    t_start = time.time()

    catalog = Path(args.catalog)
    raw = catalog.read_bytes()
    products = load_catalog(catalog)
    n = len(products)
    if n < 20:
        sys.exit(f"{catalog}: only {n} usable rows")
    if args.epochs <= 0:
        per_epoch = max(1, (n - int(n * args.holdout)) // min(args.batch, n))
        args.epochs = max(3, round(args.steps / per_epoch))
    print(f"catalog {catalog} rows={n} dim={args.dim} buckets={args.buckets} epochs={args.epochs} batch={args.batch}", flush=True)

    fz = Featurizer(args.buckets)
    perm = list(range(n))
    random.Random(args.seed).shuffle(perm)
    n_hold = max(1, int(n * args.holdout)) if args.holdout > 0 else 0
    held = sorted(perm[:n_hold])
    seen = sorted(perm[n_hold:])
    # Evaluate seen products on a sample of the same size as the held-out set.
    seen_eval = sorted(random.Random(args.seed + 7).sample(seen, min(len(seen), max(len(held), 200))))

    metrics: dict = {"eval": {"queries": "2-3 unit partial-title queries (words in title order, maybe cut short or with a typo; CJK spans of 2-4 chars) from a seed not used in training", "candidates": n, "k": 10}}

    # Baselines.
    docs = [product_text(p) for p in products]
    E_init = init_table(args.buckets, args.dim, args.init_std, args.seed)  # train()'s starting point
    for name, idx in (("heldout_products", held), ("seen_products", seen_eval)):
        if not idx:
            continue
        m_init, queries, gold = evaluate(E_init, fz, products, idx, args)
        m_tfidf = rank_metrics(tfidf_scores(fz, queries, docs, args.buckets), gold)
        metrics[name] = {"queries": len(queries), "tfidf_sparse_baseline": m_tfidf, "random_init_bag": m_init}

    # Phase 1: train without the held-out products, measure.
    model = train(products, seen, fz, args, "[holdout run]")
    for name, idx in (("heldout_products", held), ("seen_products", seen_eval)):
        if idx:
            metrics[name]["trained"] = evaluate(model, fz, products, idx, args)[0]

    # Phase 2: the shipped model sees every product.
    if args.no_final_all or not held:
        final = model
        shipped: dict = {"trained_on": "all but the held-out products"}
    else:
        final = train(products, list(range(n)), fz, args, "[final run]")
        shipped = {"trained_on": "all products (the held-out numbers above come from the identical run without them)"}
    W = final.numpy().copy()
    W[0] = 0
    W_ship = torch.from_numpy(W.astype(np.float16).astype(np.float32)) if args.weights_dtype == "float16" else torch.from_numpy(W)
    # The held-out products' queries again, now for the shipped weights as exported (float16).
    shipped[f"heldout_products_queries_{args.weights_dtype}"] = evaluate(W_ship, fz, products, held or seen_eval, args)[0]
    metrics["shipped_model"] = shipped

    if args.extra_eval:
        other = load_catalog(Path(args.extra_eval))
        idx = sorted(random.Random(args.seed).sample(range(len(other)), min(500, len(other))))
        m_ship, queries, gold = evaluate(final, fz, other, idx, args)
        odocs = [product_text(p) for p in other]
        metrics["out_of_domain"] = {
            "file": args.extra_eval,
            "candidates": len(other),
            "queries": len(queries),
            "tfidf_sparse_baseline": rank_metrics(tfidf_scores(fz, queries, odocs, args.buckets), gold),
            "random_init_bag": evaluate(E_init, fz, other, idx, args)[0],
            "shipped": m_ship,
        }
        print(f"out of domain     recall@10: tf-idf baseline {metrics['out_of_domain']['tfidf_sparse_baseline']['recall@10']:.3f} | "
              f"random bag {metrics['out_of_domain']['random_init_bag']['recall@10']:.3f} | shipped {m_ship['recall@10']:.3f}")

    out = Path(args.out)
    onnx_path = out / "model.onnx"
    export_onnx(W, onnx_path, args.weights_dtype)
    sha_model = hashlib.sha256(onnx_path.read_bytes()).hexdigest()

    for name in ("heldout_products", "seen_products"):
        if name in metrics:
            m = metrics[name]
            print(
                f"{name:17s} recall@10: tf-idf baseline {m['tfidf_sparse_baseline']['recall@10']:.3f} | "
                f"before training (random bag) {m['random_init_bag']['recall@10']:.3f} | after training {m['trained']['recall@10']:.3f}"
            )
    try:
        rel = str(catalog.resolve().relative_to(REPO))
    except ValueError:
        rel = str(catalog)
    meta = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "dim": args.dim,
        "buckets": args.buckets,
        "featurizer_version": feat.FEATURIZER_VERSION,
        "weights_dtype": args.weights_dtype,
        "trained_on": {"file": rel, "rows": n, "sha256": hashlib.sha256(raw).hexdigest()},
        "model_sha256": sha_model,
        "training": {
            "seed": args.seed,
            "epochs": args.epochs,
            "batch": args.batch,
            "lr": args.lr,
            "temperature": args.temperature,
            "init_std": args.init_std,
            "anchor_decay": args.anchor_decay,
            "holdout": args.holdout,
            "objective": "symmetric InfoNCE, in-batch negatives; anchors = partial-title queries / category, brand, tag, attribute, description views / title; positives = product text or title",
        },
        "metrics": metrics,
        "created_by": "models/text_embedder/train.py",
    }
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, sha256 {sha_model[:12]}) and metadata.json in {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
