"""Sequential shopper model for Shelf (SASRec-style self-attentive next-item model): train, evaluate, export ONNX.

Setup (Debian 12, no pip):  apt-get install -y python3-torch python3-onnx python3-numpy

    /usr/bin/python3 models/sequence/train.py --data DATASET_DIR --out MODEL_DIR      # interactions.tsv
    /usr/bin/python3 models/sequence/train.py --logs DATA_DIR --out MODEL_DIR         # the service's events.sqlite

Input. `--data`: a sequential data set directory as `npm run eval -- feed` reads it
(eval/feed/sequential-data.ts): interactions.tsv, `user_id<TAB>item_id<TAB>timestamp[<TAB>type]`,
header optional. `--logs`: the embedded behaviour stream of a service's data directory
(DATA_DIR/behavior/events.sqlite, one BehaviorEvent JSON per row); view, click, add_to_cart and purchase events with
a product count, keyed by user_id (else session_id).

Split (leave-last-out, as SASRec and eval/feed/protocol.ts): per shopper, time order, repeats of an
item dropped (first interaction kept: the feed never re-shows what the shopper already has); the
last item is the test target, the one before it the validation target, earlier items are trained
on. Shoppers with fewer than 3 items are trained on whole. `--holdout valid` (what the feed eval
uses inside a phase, whose data already stops before that phase's target) holds out only the last
item, for early stopping, and reports no test figure. `--holdout none --epochs N` trains on every item
for exactly N epochs (the count validation chose for the same data without its last items): the feed
eval's test phase, which may learn from the validation items, trains this way.

Model (Kang & McAuley 2018, pre-LN variant): item embedding (shared with the output layer, SASRec's
choice) scaled by sqrt(d) + learned positions, `--blocks` causal self-attention blocks, a final
LayerNorm; the hidden state at the last position is the shopper vector and a product's score is its
dot product with the product's embedding. Trained at every position on a sampled softmax: the
positive against `--negatives` uniformly drawn products shared by the batch (a negative equal to
the positive is masked). Early stopping on validation NDCG@10 (full ranking, history excluded).

Output, in --out (each file written via rename, metadata.json last, so a polling server never
loads a half-written set; it checks the sha256s):
  shopper_tower.onnx  input "items" int64 [N, L] (item indices, 0 = padding, left-padded, most
                      recent last) → output "shopper" float32 [N, D]
  item_tower.onnx     input "ids" int64 [M] → output "vectors" float32 [M, D] (the embedding table)
  items.json          the item ids, index i + 1 in the towers is items[i]
  text_projection.onnx  with --text-vectors: input "text" float32 [N, T] (a product's L2-normalised text
                      embedding, as the index stores it) → output "vectors" float32 [N, D]: the vector a
                      product the model never saw is served with (see fit_projection)
  test_vectors.json   shared test vectors: inputs and PyTorch's outputs, checked by the TypeScript side
  metadata.json       version, architecture, hyper-parameters, metrics, data summary, sha256s
  MODEL_CARD.md       the same for people
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

TYPES = ["view", "click", "add_to_cart", "purchase"]
FORMAT = "shelf-sequence-v1"


# ----------------------------------------------------------------------------- data

def read_interactions(path: Path) -> list[tuple[str, str, int, str]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cells = line.split("\t")
            if i == 0 and cells[0] == "user_id":
                continue
            if len(cells) not in (3, 4):
                raise SystemExit(f"{path}:{i + 1}: expected 3 or 4 tab-separated fields, got {len(cells)}")
            if not cells[2].isdigit():
                raise SystemExit(f"{path}:{i + 1}: timestamp must be epoch milliseconds")
            t = cells[3] if len(cells) == 4 and cells[3] else "purchase"
            if t not in TYPES:
                raise SystemExit(f"{path}:{i + 1}: unknown type {t!r}")
            rows.append((cells[0], cells[1], int(cells[2]), t))
    return rows


def read_logs(data_dir: Path) -> list[tuple[str, str, int, str]]:
    db = data_dir / "behavior" / "events.sqlite"
    if not db.exists():
        db = data_dir / "events.sqlite"  # the behaviour folder itself
    if not db.exists():
        raise SystemExit(f"{data_dir}: no behaviour log here (the embedded back end writes DATA_DIR/behavior/events.sqlite)")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = []
    seen = set()
    for (value,) in con.execute("SELECT value FROM log ORDER BY position"):
        try:
            e = json.loads(value)
        except ValueError:
            continue  # the consumer dead-letters these; nothing to learn from them
        if not isinstance(e, dict) or e.get("type") not in TYPES or not e.get("product_id"):
            continue
        who = e.get("user_id") or e.get("session_id")
        ts = e.get("ts")
        if not who or not isinstance(ts, (int, float)) or e.get("event_id") in seen:
            continue
        seen.add(e.get("event_id"))
        rows.append((str(who), str(e["product_id"]), int(ts), e["type"]))
    con.close()
    return rows


def sequences(rows) -> tuple[list[str], list[list[int]], list[list[int]]]:
    """Per shopper, time order (file order breaks ties), first interaction with each item only."""
    by_user: dict[str, list] = {}
    for n, (u, it, ts, t) in enumerate(rows):
        by_user.setdefault(u, []).append((ts, n, it, t))
    item_index: dict[str, int] = {}
    items: list[str] = []
    seqs, types = [], []
    for u, lst in by_user.items():
        lst.sort()
        seen, s, ty = set(), [], []
        for _, _, it, t in lst:
            if it in seen:
                continue
            seen.add(it)
            if it not in item_index:
                items.append(it)
                item_index[it] = len(items)  # 0 is padding
            s.append(item_index[it])
            ty.append(TYPES.index(t) + 1)
        seqs.append(s)
        types.append(ty)
    return items, seqs, types


# ----------------------------------------------------------------------------- model

class Block(nn.Module):
    """Pre-LN causal self-attention + position-wise feed-forward (hand-written: exports to any opset)."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        b, l, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).reshape(b, l, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d // h) + bias  # bias: causal + padding, -1e9 where masked
        att = self.drop(torch.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, l, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff(self.ln2(x)))


class SasRec(nn.Module):
    def __init__(self, n_items: int, d: int, max_len: int, blocks: int, heads: int, dropout: float, n_types: int = 0):
        super().__init__()
        self.d = d
        self.max_len = max_len
        self.item = nn.Embedding(n_items + 1, d, padding_idx=0)
        self.pos = nn.Embedding(max_len, d)
        self.type = nn.Embedding(n_types + 1, d, padding_idx=0) if n_types else None
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(blocks))
        self.ln = nn.LayerNorm(d)
        # Constant masks (buffers, not ops: onnxruntime has no EyeLike/Trilu for booleans on CPU).
        self.register_buffer("future", torch.triu(torch.ones(max_len + 1, max_len + 1, dtype=torch.bool), diagonal=1), persistent=False)
        self.register_buffer("eye", torch.eye(max_len + 1, dtype=torch.bool), persistent=False)
        nn.init.normal_(self.item.weight, std=0.05)
        nn.init.normal_(self.pos.weight, std=0.05)
        with torch.no_grad():
            self.item.weight[0].zero_()

    def hidden(self, seq, types=None):
        """seq [B, L] item indices, left-padded with 0 → hidden states [B, L, D]."""
        b, l = seq.shape
        pad = seq == 0
        x = self.item(seq) * math.sqrt(self.d) + self.pos.weight[-l:].unsqueeze(0)
        if self.type is not None and types is not None:
            x = x + self.type(types)
        x = self.drop(x) * (~pad).unsqueeze(-1).to(x.dtype)
        # A query row that is itself padding would see nothing at all; let it see itself (its output is unused).
        masked = self.future[:l, :l].unsqueeze(0) | pad.unsqueeze(1)
        masked = masked & ~self.eye[:l, :l].unsqueeze(0)
        bias = (masked.to(x.dtype) * -1e9).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        return self.ln(x)


class ShopperTower(nn.Module):
    """What the service runs: the last L items → the shopper vector (hidden state at the last position)."""

    def __init__(self, m: SasRec):
        super().__init__()
        self.m = m

    def forward(self, items):
        return self.m.hidden(items)[:, -1, :]


class ShopperTowerTyped(ShopperTower):
    def forward(self, items, types):
        return self.m.hidden(items, types)[:, -1, :]


class ItemTower(nn.Module):
    def __init__(self, m: SasRec):
        super().__init__()
        self.m = m

    def forward(self, ids):
        return self.m.item(ids)


# ----------------------------------------------------------------------------- training and metrics

def left_pad(seqs: list[list[int]], l: int) -> np.ndarray:
    out = np.zeros((len(seqs), l), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[-l:]
        if s:
            out[i, l - len(s):] = s
    return out


def evaluate(model: SasRec, inputs, in_types, targets, n_items: int, rng: np.random.Generator, typed: bool,
             sampled: int = 100, batch: int = 256) -> dict:
    """HR@10 / NDCG@10, full ranking (the shopper's input items excluded) and against `sampled` uniform negatives
    the shopper never touched (SASRec's protocol)."""
    model.eval()
    hit_f = ndcg_f = hit_s = ndcg_s = 0.0
    n = len(targets)
    table = model.item.weight.detach()
    with torch.no_grad():
        for a in range(0, n, batch):
            seq = torch.from_numpy(left_pad(inputs[a:a + batch], model.max_len))
            ty = torch.from_numpy(left_pad(in_types[a:a + batch], model.max_len)) if typed else None
            h = model.hidden(seq, ty)[:, -1, :]
            scores = (h @ table.T).numpy()
            for j in range(len(seq)):
                row = scores[j]
                tgt = targets[a + j]
                hist = inputs[a + j]
                t = row[tgt]
                row[0] = -np.inf
                row[hist] = -np.inf
                rank = int((row > t).sum())
                if rank < 10:
                    hit_f += 1
                    ndcg_f += 1 / math.log2(rank + 2)
                excl = set(hist)
                excl.add(tgt)
                negs = []
                # Drawn with replacement, so a catalog smaller than 100 still works; none left: no negatives.
                while len(negs) < sampled and len(excl) < n_items:
                    c = int(rng.integers(1, n_items + 1))
                    if c not in excl:
                        negs.append(c)
                rank_s = int((row[negs] > t).sum())
                if rank_s < 10:
                    hit_s += 1
                    ndcg_s += 1 / math.log2(rank_s + 2)
    r = lambda x: round(x / max(1, n), 4)
    return {"users": n, "full": {"hr@10": r(hit_f), "ndcg@10": r(ndcg_f)},
            f"sampled{sampled}": {"hr@10": r(hit_s), "ndcg@10": r(ndcg_s)}}


def train_epoch(model, opt, train_seqs, train_types, n_items, args, gen, typed):
    model.train()
    order = torch.randperm(len(train_seqs), generator=gen).tolist()
    total = 0.0
    # Length buckets: most shoppers have a handful of items, and a batch padded to max_len spends
    # most of its matrix products on padding (Debian's torch uses the generic BLAS: 5x slower per
    # epoch on Amazon Video). Each window of 50 batches of the shuffled order is sorted by length,
    # cut into batches padded only to their longest sequence, and the batches are shuffled again.
    # Positions count from the newest item, so a shorter pad changes no shopper's input.
    window = args.batch * 50
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w:w + window], key=lambda i: len(train_seqs[i]))
        batches.extend(chunk[a:a + args.batch] for a in range(0, len(chunk), args.batch))
    for b in torch.randperm(len(batches), generator=gen).tolist():
        idx = batches[b]
        l = min(model.max_len, max(len(train_seqs[i]) for i in idx) - 1)
        full = left_pad([train_seqs[i] for i in idx], l + 1)
        seq = torch.from_numpy(full[:, :-1])
        pos = torch.from_numpy(full[:, 1:])
        ty = torch.from_numpy(left_pad([train_types[i] for i in idx], l + 1)[:, :-1]) if typed else None
        valid = (pos > 0) & (seq > 0)
        h = model.hidden(seq, ty)[valid]                                         # [P, D]
        p = pos[valid]
        negs = torch.randint(1, n_items + 1, (args.negatives,), generator=gen)   # shared by the batch
        w = model.item.weight
        pos_logit = (h * w[p]).sum(-1, keepdim=True)
        neg_logit = h @ w[negs].T
        neg_logit = neg_logit.masked_fill(negs.unsqueeze(0) == p.unsqueeze(1), -1e9)
        logits = torch.cat([pos_logit, neg_logit], dim=1)
        loss = nn.functional.cross_entropy(logits, torch.zeros(len(p), dtype=torch.long))
        if args.l2 > 0:
            loss = loss + args.l2 * (w[p].pow(2).sum() / len(p))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss) * len(idx)
    return total / max(1, len(order))



# ----------------------------------------------------------------------------- text projection (new products)

def read_text_vectors(path: Path) -> dict[str, np.ndarray]:
    """JSON Lines {"id", "vector"}: a product's text embedding (what `npm run train -- sequence --catalog` writes)."""
    out: dict[str, np.ndarray] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if not line.strip():
                continue
            r = json.loads(line)
            out[str(r["id"])] = np.asarray(r["vector"], dtype=np.float32)
    dims = {len(v) for v in out.values()}
    if len(dims) != 1:
        raise SystemExit(f"{path}: text vectors of {sorted(dims) or 'no'} dimensions, expected one size")
    return out


class TextProjection(nn.Module):
    """text embedding → item space: a linear map, optionally rescaled to the typical learned item norm."""

    def __init__(self, w: np.ndarray, b: np.ndarray, norm: float | None):
        super().__init__()
        self.lin = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            self.lin.weight.copy_(torch.from_numpy(w.T.astype(np.float32)))
            self.lin.bias.copy_(torch.from_numpy(b.astype(np.float32)))
        self.norm = norm

    def forward(self, text):
        y = self.lin(text)
        if self.norm is not None:
            # Plain ops (no ReduceL2 needed): exports to any opset.
            y = y / torch.clamp(y.pow(2).sum(-1, keepdim=True).sqrt(), min=1e-8) * self.norm
        return y


def ridge(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with an L2 penalty on the weights (not the intercept): centred, closed form, float64."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ yc)
    return w, my - mx @ w


def cold_start(model: SasRec, table: np.ndarray, inputs, targets, batch: int = 256) -> dict:
    """Full-ranking HR@10 / NDCG@10 of these shoppers' targets against `table` (rows replaced as the caller chose)."""
    hit = ndcg = 0.0
    t = torch.from_numpy(table)
    with torch.no_grad():
        for a in range(0, len(targets), batch):
            seq = torch.from_numpy(left_pad(inputs[a:a + batch], model.max_len))
            scores = (model.hidden(seq)[:, -1, :] @ t.T).numpy()
            for j in range(len(seq)):
                row = scores[j]
                tgt = targets[a + j]
                v = row[tgt]
                row[0] = -np.inf
                row[inputs[a + j]] = -np.inf
                rank = int((row > v).sum())
                if rank < 10:
                    hit += 1
                    ndcg += 1 / math.log2(rank + 2)
    n = max(1, len(targets))
    return {"users": len(targets), "hr@10": round(hit / n, 4), "ndcg@10": round(ndcg / n, 4)}


def fit_projection(model: SasRec, items: list[str], text: dict[str, np.ndarray], val_in, val_tgt, seed: int,
                   holdout: float, log) -> tuple[TextProjection, dict]:
    """
    The vector a product the model never saw is served with: a ridge regression from its text
    embedding to the learned item embedding, fitted on the products that have both.

    Validation: a seeded `holdout` share of those products plays "new": the map is fitted on the
    others (the L2 penalty chosen by validation error), and the validation shoppers whose target
    is a held-out product are ranked against the table with every held-out row replaced by its
    projection, against the same with the mean learned row (what a product with no text would
    get) and against the learned rows themselves (the ceiling). Rescaling each projection to the
    median learned norm (ridge shrinks towards the mean, and a short vector never wins an
    inner-product search) is kept when it ranks better there. The shipped map is then refitted on
    every product.
    """
    table = model.item.weight.detach().numpy().copy()
    rows = [i + 1 for i, it in enumerate(items) if it in text]
    if len(rows) < 4:
        raise SystemExit(f"--text-vectors: only {len(rows)} of the model's items have a text vector")
    x = np.stack([text[items[r - 1]] for r in rows])
    y = table[rows]
    rng = np.random.default_rng(seed + 5)
    perm = rng.permutation(len(rows))
    n_val = max(1, int(round(len(rows) * holdout)))
    val_idx, fit_idx = perm[:n_val], perm[n_val:]
    lams = [0.01, 0.1, 1.0, 10.0, 100.0]
    errs = []
    for lam in lams:
        w, b = ridge(x[fit_idx], y[fit_idx], lam)
        errs.append(float(((x[val_idx] @ w + b - y[val_idx]) ** 2).sum(1).mean()))
    lam = lams[int(np.argmin(errs))]
    w, b = ridge(x[fit_idx], y[fit_idx], lam)
    norm = float(np.median(np.linalg.norm(table[1:], axis=1)))
    held = {rows[i] for i in val_idx}

    def cos(a, c):
        return float(np.mean((a * c).sum(1) / np.maximum(1e-8, np.linalg.norm(a, axis=1) * np.linalg.norm(c, axis=1))))

    pv = x[val_idx] @ w + b
    mean_row = y[fit_idx].mean(0)
    cases = [(h, t) for h, t in zip(val_in, val_tgt) if t in held]
    c_in, c_tgt = [h for h, _ in cases], [t for _, t in cases]

    def ranked(vectors: np.ndarray) -> dict:
        t = table.copy()
        t[[rows[i] for i in val_idx]] = vectors
        return cold_start(model, t.astype(np.float32), c_in, c_tgt)

    scaled = pv / np.maximum(1e-8, np.linalg.norm(pv, axis=1, keepdims=True)) * norm
    plain_r, scaled_r = ranked(pv), ranked(scaled)
    rescale = bool(c_tgt) and scaled_r["ndcg@10"] > plain_r["ndcg@10"]
    validation = {
        "held_out_items": int(n_val), "fitted_items": int(len(fit_idx)), "lambda": lam,
        "val_mse_by_lambda": {str(l): round(e, 5) for l, e in zip(lams, errs)},
        "cosine_to_learned": round(cos(pv, y[val_idx]), 4),
        "cosine_mean_row_to_learned": round(cos(np.tile(mean_row, (len(val_idx), 1)), y[val_idx]), 4),
        "cold_start_shoppers": len(c_tgt),
        "cold_start": {"projection": plain_r, "projection_rescaled": scaled_r,
                       "mean_row": ranked(np.tile(mean_row, (len(val_idx), 1))),
                       "learned_rows": ranked(y[val_idx])},
        "rescaled": rescale,
    }
    log(f"text projection: {json.dumps(validation)}")
    w, b = ridge(x, y, lam)
    return TextProjection(w, b, norm if rescale else None).eval(), {
        "kind": "ridge linear map" + (", rescaled to the median learned item norm" if rescale else ""),
        "text_dim": int(x.shape[1]), "items": len(rows), "lambda": lam,
        "norm": round(norm, 6) if rescale else None, "validation": validation}

# ----------------------------------------------------------------------------- export

def write_atomic(path: Path, data: bytes) -> str:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def export_onnx(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> str:
    import onnx
    tmp = path.with_name(path.name + ".export")
    torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=14)
    onnx.checker.check_model(onnx.load(str(tmp)))
    data = tmp.read_bytes()
    tmp.unlink()
    return write_atomic(path, data)


def model_card(meta: dict) -> str:
    a, t, m, d = meta["architecture"], meta["training"], meta["metrics"], meta["data"]
    lines = [f"# {meta['name']} {meta['version']}", "",
             "SASRec-style self-attentive next-item model (pre-LN), trained by `models/sequence/train.py`.", "",
             "## Data", "",
             f"- source: {d['source'] or '(not given)'}",
             f"- {d['interactions']:,} interactions (repeats dropped), {d['shoppers']:,} shoppers, {d['items']:,} items",
             f"- split: {t['split']}",
             *([f"- interactions.tsv sha256 {d['sha256']}"] if d.get("sha256") else []), "",
             "## Hyper-parameters", "",
             f"- max length {a['max_len']}, dimensions {a['dim']}, blocks {a['blocks']}, heads {a['heads']}, dropout {t['dropout']}, event types {'on' if a['event_types'] else 'off'}",
             f"- sampled softmax with {t['negatives']} uniform negatives, batch {t['batch']}, Adam lr {t['lr']}, l2 {t['l2']}",
             (f"- seed {t['seed']}, {t['threads']} thread(s), at most {t['epochs']} epochs, patience {t['patience']} (evaluated every {t['eval_every']}), best epoch {t['best_epoch']}"
              if m else f"- seed {t['seed']}, {t['threads']} thread(s), exactly {t['epochs']} epochs (no held-out split to stop on)"),
             f"- training time {t['seconds']} s on {t['cpu']}", "",
             "## Metrics (HR@10 / NDCG@10; full ranking excludes the shopper's items, sampled = 100 uniform negatives)", "",
             "| split | users | full HR@10 | full NDCG@10 | sampled-100 HR@10 | sampled-100 NDCG@10 |", "|---|---|---|---|---|---|"]
    if not m:
        # --holdout none: every item was trained on, so nothing is left to measure here; the run that chose
        # the epoch count (a --holdout valid model) carries the figures.
        lines.append("| (none: every item was trained on) | – | – | – | – | – |")
    for k in ("valid", "test"):
        if k in m:
            x = m[k]
            lines.append(f"| {k} | {x['users']:,} | {x['full']['hr@10']} | {x['full']['ndcg@10']} | {x['sampled100']['hr@10']} | {x['sampled100']['ndcg@10']} |")
    p = meta.get("text_projection")
    if p:
        v = p["validation"]
        cs = v["cold_start"]
        lines += ["", "## Products with no interactions (text projection)", "",
                  f"- `text_projection.onnx`: {p['kind']} from the `{p['embedder_id']}` text embedding ({p['text_dim']}-d) into the item space, fitted on {p['items']:,} products (L2 penalty {p['lambda']}, chosen on validation)",
                  f"- validation: {v['held_out_items']} products held out as if new; cosine of their projection to their learned vector {v['cosine_to_learned']} (the mean learned vector: {v['cosine_mean_row_to_learned']})",
                  f"- {v['cold_start_shoppers']} validation shoppers whose next item is a held-out product, that product ranked (full ranking) with the row it would be served with:", "",
                  "| row served for the held-out products | HR@10 | NDCG@10 |", "|---|---|---|",
                  f"| learned (ceiling) | {cs['learned_rows']['hr@10']} | {cs['learned_rows']['ndcg@10']} |",
                  f"| text projection | {cs['projection']['hr@10']} | {cs['projection']['ndcg@10']} |",
                  f"| text projection, rescaled to the median learned norm | {cs['projection_rescaled']['hr@10']} | {cs['projection_rescaled']['ndcg@10']} |",
                  f"| mean learned row (no text) | {cs['mean_row']['hr@10']} | {cs['mean_row']['ndcg@10']} |", "",
                  f"- shipped: {'rescaled' if v['rescaled'] else 'not rescaled'} (the better on that validation)"]
    lines += ["", "Served by the feed's `sequence` recall route (retrieval/recall) and in similar items; products the",
              "model never saw are served with their text's projection when the model has one."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="sequential data set directory (interactions.tsv)")
    src.add_argument("--logs", help="service data directory (behavior/events.sqlite, the embedded behaviour log)")
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--holdout", choices=["valid-test", "valid", "none"], default="valid-test",
                    help="valid-test: last item test, the one before validation; valid: last item validation only; "
                         "none: train on every item for exactly --epochs (an epoch count chosen on validation before)")
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--event-types", action="store_true", help="condition on the event type of each input item")
    ap.add_argument("--negatives", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=200, help="at most this many epochs")
    ap.add_argument("--patience", type=int, default=3, help="evaluations without a better validation NDCG@10")
    ap.add_argument("--eval-every", type=int, default=2, help="epochs between validation evaluations")
    ap.add_argument("--eval-users", type=int, default=5000, help="validation users evaluated for early stopping (0: all)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: deterministic and polite on a shared CPU)")
    ap.add_argument("--version", help="model version (default: sequence-<sha12 of the weights>)")
    ap.add_argument("--source", default="", help="free text recorded in the model card (where the data came from)")
    ap.add_argument("--text-vectors", help="JSON Lines {id, vector}: products' text embeddings; fits text_projection.onnx (new products)")
    ap.add_argument("--text-embedder-id", default="", help="id of the text embedder that made --text-vectors (recorded; the service checks it)")
    ap.add_argument("--projection-holdout", type=float, default=0.2, help="share of products held out to validate the text projection")
    ap.add_argument("--metrics-out", help="also write the metrics JSON here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    rows = read_interactions(Path(args.data) / "interactions.tsv") if args.data else read_logs(Path(args.logs))
    items, seqs, types = sequences(rows)
    if not items:
        raise SystemExit("no interactions to train on")
    n_items = len(items)
    typed = args.event_types
    cut = {"valid-test": 2, "valid": 1, "none": 0}[args.holdout]
    if cut == 0 and args.text_vectors:
        raise SystemExit("--holdout none leaves nothing to validate the text projection on; fit it with --holdout valid")
    train_s, train_t = [], []
    val_in, val_ty, val_tgt, test_in, test_ty, test_tgt = [], [], [], [], [], []
    for s, ty in zip(seqs, types):
        if len(s) < 3 or cut == 0:
            train_s.append(s)
            train_t.append(ty)
            continue
        train_s.append(s[:-cut])
        train_t.append(ty[:-cut])
        v = len(s) - cut
        val_in.append(s[:v]); val_ty.append(ty[:v]); val_tgt.append(s[v])
        if cut == 2:
            test_in.append(s[:-1]); test_ty.append(ty[:-1]); test_tgt.append(s[-1])
    train_s = [s for s in train_s if len(s) >= 2]  # one item teaches no transition
    if not train_s:
        raise SystemExit("no shopper has two items to learn a transition from")
    log(f"sequence: {len(rows):,} rows, {len(seqs):,} shoppers, {n_items:,} items, {len(val_tgt):,} validation targets")

    model = SasRec(n_items, args.dim, args.max_len, args.blocks, args.heads, args.dropout, len(TYPES) if typed else 0)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(args.seed)
    pick = np.random.default_rng(args.seed).permutation(len(val_tgt))
    if args.eval_users:
        pick = pick[:args.eval_users]
    es_in = [val_in[i] for i in pick]; es_ty = [val_ty[i] for i in pick]; es_tgt = [val_tgt[i] for i in pick]
    best, best_epoch, best_state, waited, history = -1.0, 0, None, 0, []
    for epoch in range(1, args.epochs + 1):
        loss = train_epoch(model, opt, train_s, train_t, n_items, args, gen, typed)
        if es_tgt and (epoch % args.eval_every == 0 or epoch == args.epochs):
            v = evaluate(model, es_in, es_ty, es_tgt, n_items, np.random.default_rng(args.seed + 1), typed)
            score = v["full"]["ndcg@10"] + v["sampled100"]["ndcg@10"]
            history.append({"epoch": epoch, "loss": round(loss, 4), **{k: v[k] for k in ("full", "sampled100")}})
            log(f"epoch {epoch}: loss {loss:.4f} valid full {v['full']} sampled {v['sampled100']} ({time.time() - t0:.0f}s)")
            if score > best:
                best, best_epoch, waited = score, epoch, 0
                best_state = {k: t.clone() for k, t in model.state_dict().items()}
            else:
                waited += 1
                if waited >= args.patience:
                    break
        elif not es_tgt:
            best_epoch = epoch
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    train_seconds = round(time.time() - t0, 1)

    metrics = {}
    if val_tgt:
        metrics["valid"] = evaluate(model, val_in, val_ty, val_tgt, n_items, np.random.default_rng(args.seed + 2), typed)
    if test_tgt:
        metrics["test"] = evaluate(model, test_in, test_ty, test_tgt, n_items, np.random.default_rng(args.seed + 3), typed)
    log(f"sequence: {json.dumps(metrics)}")

    projection, projection_meta = None, None
    if args.text_vectors:
        if not args.text_embedder_id:
            raise SystemExit("--text-vectors needs --text-embedder-id (the service only applies the map to that embedder's vectors)")
        text = read_text_vectors(Path(args.text_vectors))
        projection, projection_meta = fit_projection(model, items, text, val_in, val_tgt, args.seed, args.projection_holdout, log)
        projection_meta = {"embedder_id": args.text_embedder_id, **projection_meta}
        metrics["text_projection"] = projection_meta["validation"]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    l = args.max_len
    ex_items = torch.from_numpy(left_pad([s[-l:] for s in seqs[:2]], l))
    if typed:
        ex_types = torch.from_numpy(left_pad([t[-l:] for t in types[:2]], l))
        shopper_sha = export_onnx(ShopperTowerTyped(model).eval(), (ex_items, ex_types), out / "shopper_tower.onnx", ["items", "types"],
                                  ["shopper"], {"items": {0: "n"}, "types": {0: "n"}, "shopper": {0: "n"}})
    else:
        shopper_sha = export_onnx(ShopperTower(model).eval(), (ex_items,), out / "shopper_tower.onnx", ["items"], ["shopper"],
                                  {"items": {0: "n"}, "shopper": {0: "n"}})
    item_sha = export_onnx(ItemTower(model).eval(), (torch.arange(1, min(n_items, 4) + 1),), out / "item_tower.onnx", ["ids"], ["vectors"],
                           {"ids": {0: "m"}, "vectors": {0: "m"}})
    items_sha = write_atomic(out / "items.json", (json.dumps(items, ensure_ascii=False) + "\n").encode())
    files = {"shopper_tower.onnx": shopper_sha, "item_tower.onnx": item_sha, "items.json": items_sha}
    if projection is not None:
        t_dim = projection_meta["text_dim"]
        files["text_projection.onnx"] = export_onnx(projection, (torch.zeros(2, t_dim),), out / "text_projection.onnx", ["text"],
                                                    ["vectors"], {"text": {0: "n"}, "vectors": {0: "n"}})
    elif (out / "text_projection.onnx").exists():
        (out / "text_projection.onnx").unlink()  # a previous run's map does not belong to these weights

    # Shared test vectors: a few real histories (full, short, one item) and PyTorch's outputs for them.
    rng = np.random.default_rng(args.seed + 4)
    cases = [seqs[int(i)] for i in rng.choice(len(seqs), size=min(4, len(seqs)), replace=False)]
    cases.append(cases[0][-1:])
    case_types = [[TYPES.index("purchase") + 1] * len(c) for c in cases]
    # torch.onnx.export restores the wrapper's (training) mode afterwards, recursively: back to eval.
    model.eval()
    with torch.no_grad():
        xi = torch.from_numpy(left_pad(cases, l))
        xt = torch.from_numpy(left_pad(case_types, l))
        sv = (ShopperTowerTyped(model)(xi, xt) if typed else ShopperTower(model)(xi)).numpy()
        ids = sorted({int(x) for c in cases for x in c})
        iv = model.item(torch.tensor(ids)).numpy()
    tv = {"format": FORMAT, "max_len": l, "cases": [
        {"items": [items[x - 1] for x in c[-l:]], "indices": left_pad([c], l)[0].tolist(),
         **({"types": left_pad([t], l)[0].tolist()} if typed else {}), "shopper": [round(float(v), 6) for v in sv[k]]}
        for k, (c, t) in enumerate(zip(cases, case_types))],
        "item_vectors": {items[i - 1]: [round(float(v), 6) for v in iv[k]] for k, i in enumerate(ids)}}
    if projection is not None:
        # A few products' text vectors (and one made up: the map must not depend on the product being known).
        tv_ids = [it for it in items if it in text][:3]
        tx = np.stack([text[it] for it in tv_ids] + [np.linspace(-1, 1, projection_meta["text_dim"], dtype=np.float32)])
        tx = np.round(tx, 6).astype(np.float32)
        with torch.no_grad():
            ty = projection(torch.from_numpy(tx)).numpy()
        tv["projection"] = {"ids": tv_ids + [None], "text": [[round(float(v), 6) for v in r] for r in tx],
                            "vectors": [[round(float(v), 6) for v in r] for r in ty]}
    write_atomic(out / "test_vectors.json", (json.dumps(tv) + "\n").encode())

    params = list(model.parameters()) + (list(projection.parameters()) if projection is not None else [])
    weights_sha = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in params)).hexdigest()
    meta = {
        "name": "shelf-sequence-sasrec",
        "format": FORMAT,
        "version": args.version or f"sequence-{weights_sha[:12]}",
        "dim": args.dim,
        "max_len": l,
        "items": n_items,
        "inputs": ["items", "types"] if typed else ["items"],
        "types": TYPES,
        "files": files,
        **({"text_projection": projection_meta} if projection_meta else {}),
        "architecture": {"type": "SASRec (pre-LN)", "dim": args.dim, "max_len": l, "blocks": args.blocks, "heads": args.heads,
                         "event_types": typed, "score": "dot product of shopper and item vectors"},
        "training": {"seed": args.seed, "threads": args.threads, "epochs": args.epochs, "best_epoch": best_epoch,
                     "patience": args.patience, "eval_every": args.eval_every, "eval_users": args.eval_users,
                     "batch": args.batch, "lr": args.lr, "l2": args.l2, "dropout": args.dropout, "negatives": args.negatives,
                     "split": ("leave-last-out: last item test, second-to-last validation" if cut == 2
                               else "last item validation (early stopping), no test" if cut == 1
                               else "every item trained on for the given epochs: no validation, no test"),
                     "seconds": train_seconds, "cpu": cpu_name(), "torch": torch.__version__, "history": history},
        "metrics": metrics,
        "data": {"source": args.source or (args.data and f"--data {args.data}") or f"--logs {args.logs}",
                 "rows": len(rows), "interactions": sum(len(s) for s in seqs), "shoppers": len(seqs), "items": n_items,
                 **({"sha256": hashlib.sha256((Path(args.data) / "interactions.tsv").read_bytes()).hexdigest()} if args.data else {})},
        "created_by": "models/sequence/train.py",
    }
    write_atomic(out / "MODEL_CARD.md", model_card(meta).encode())
    write_atomic(out / "metadata.json", (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode())
    summary = {"version": meta["version"], "metrics": metrics, "seconds": train_seconds, "best_epoch": best_epoch}
    if args.metrics_out:
        Path(args.metrics_out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
