"""Multi-task CTR/CVR ranker (ESMM) for Shelf: train, evaluate against single-task baselines, export ONNX.

Setup (Debian 12, no pip):  apt-get install -y python3-torch python3-onnx python3-numpy

    /usr/bin/python3 models/ranker/train.py --data training.jsonl --out MODEL_DIR [--seed 7]

Input: JSON Lines written by ranking/training-data.ts (`npm run eval -- ranking export`): one
row per impression with the exact feature vector the server logged ("features", spec
rank-features-v1), "click" and "purchase" labels and the "request_id" they were joined on.

Model (ESMM, Ma et al. 2018): two small MLP towers over the same features, pCTR and pCVR;
trained on the WHOLE impression space with loss BCE(pCTR, click) + BCE(pCTR x pCVR, click AND
purchase), so pCVR is never fitted on clicked samples only.
Baselines: a CTR-only tower (BCE on clicks), and a CVR tower trained on clicked samples only
(the sample-selection-biased model ESMM fixes).
Split: by request, seeded (a request's impressions stay together), 80% train / 20% test; 15% of the
training requests are held out again for early stopping (each model keeps its epoch with the lowest
validation loss, patience 5; the clicked-only model gets as many more epochs as it has fewer rows).
Metrics on the test part: AUC and log-loss of CTR (all impressions, label click), CVR (clicked
impressions, label purchase), CTCVR (all impressions, label click AND purchase, score pCTR x pCVR),
and CVR over all impressions ("cvr_all": how well pCVR ranks purchases where it is served).

Output, in --out: model.onnx (input "features" float32 [N, F]; outputs "p_ctr", "p_cvr" float32
[N]) and metadata.json (version, feature spec version and names, model_sha256, metrics, data
summary). model.onnx is written first and metadata.json last (each via rename), so a server
polling the folder never loads a half-written pair (it checks model_sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import FEATURE_NAMES, FEATURE_SPEC_VERSION  # noqa: E402


# ----------------------------------------------------------------------------- data

def load_rows(paths: list[str]) -> dict:
    feats, click, buy, req, surface = [], [], [], [], []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if len(r["features"]) != len(FEATURE_NAMES):
                    raise SystemExit(f"{p}: a row has {len(r['features'])} features, spec {FEATURE_SPEC_VERSION} has {len(FEATURE_NAMES)}")
                feats.append(r["features"])
                c, b = int(r["click"]), int(r["purchase"])
                click.append(max(c, b))
                buy.append(b)
                req.append(r["request_id"])
                surface.append(r.get("surface", "?"))
    if not feats:
        raise SystemExit("no training rows")
    return {
        "x": np.asarray(feats, dtype=np.float32),
        "click": np.asarray(click, dtype=np.float32),
        "buy": np.asarray(buy, dtype=np.float32),
        "req": req,
        "surface": surface,
    }


def split_by_request(req: list[str], seed: int, test_share: float = 0.2) -> np.ndarray:
    """True = test. A seeded hash of the request id, so a request's impressions stay together."""
    def h(s: str) -> float:
        d = hashlib.sha256(f"{seed}:{s}".encode()).digest()
        return int.from_bytes(d[:8], "big") / 2**64
    return np.asarray([h(r) < test_share for r in req])


# ----------------------------------------------------------------------------- metrics

def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """ROC AUC with tied scores counted half (Mann-Whitney U with average ranks)."""
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    pos = y.sum()
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    ss = s[order]
    i = 0
    while i < len(ss):
        j = i
        while j + 1 < len(ss) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def logloss(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(y) == 0:
        return None
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def r4(x):
    return None if x is None else round(x, 4)


# ----------------------------------------------------------------------------- models

def tower(n_in: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = n_in
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, 1))
    return nn.Sequential(*layers)


class Esmm(nn.Module):
    def __init__(self, n_in: int, hidden: tuple[int, ...]):
        super().__init__()
        self.ctr = tower(n_in, hidden)
        self.cvr = tower(n_in, hidden)

    def forward(self, x):
        p_ctr = torch.sigmoid(self.ctr(x)).squeeze(-1)
        p_cvr = torch.sigmoid(self.cvr(x)).squeeze(-1)
        return p_ctr, p_cvr


class Single(nn.Module):
    def __init__(self, n_in: int, hidden: tuple[int, ...]):
        super().__init__()
        self.t = tower(n_in, hidden)

    def forward(self, x):
        return torch.sigmoid(self.t(x)).squeeze(-1)


def bce(p, y):
    return nn.functional.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), y)


def fit(model: nn.Module, loss_fn, x: np.ndarray, ys: list[np.ndarray], epochs: int, batch: int, lr: float, seed: int,
        val: tuple[np.ndarray, list[np.ndarray]] | None = None, patience: int = 5) -> int:
    """Adam over shuffled mini-batches. With `val`, keeps the weights of the epoch with the lowest
    validation loss and stops after `patience` epochs without improvement; returns the epochs used."""
    g = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x)
    yt = [torch.from_numpy(y) for y in ys]
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    n = len(x)
    best, best_state, best_epoch = math.inf, None, epochs
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model, xt[idx], [y[idx] for y in yt])
            loss.backward()
            opt.step()
        if val is not None:
            model.eval()
            with torch.no_grad():
                v = float(loss_fn(model, torch.from_numpy(val[0]), [torch.from_numpy(y) for y in val[1]]))
            if v < best - 1e-6:
                best, best_epoch = v, epoch + 1
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
            elif epoch + 1 - best_epoch >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
        epochs = best_epoch
    model.eval()
    return epochs


def esmm_loss(m, x, ys):
    click, buy = ys
    p_ctr, p_cvr = m(x)
    return bce(p_ctr, click) + bce(p_ctr * p_cvr, click * buy)


def single_loss(m, x, ys):
    return bce(m(x), ys[0])


# ----------------------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, help="training JSON Lines (repeatable)")
    ap.add_argument("--out", required=True, help="model folder to write (model.onnx + metadata.json)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=60, help="at most this many epochs")
    ap.add_argument("--val-share", type=float, default=0.15,
                    help="share of the training requests held out for early stopping (0: train all epochs)")
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden", default="32,16", help="tower layer sizes")
    ap.add_argument("--version", help="model version (default: ranker-<sha12 of the weights>)")
    ap.add_argument("--metrics-out", help="also write the evaluation JSON here")
    ap.add_argument("--source", default="", help="free text recorded in metadata (where the data came from)")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(1)
    t0 = time.time()
    d = load_rows(args.data)
    x, click, buy = d["x"], d["click"], d["buy"]
    test = split_by_request(d["req"], args.seed)
    train = ~test
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    n_in = x.shape[1]

    # Early stopping (optional) on a seeded share of the training requests; the test part is never used.
    val = train & split_by_request(d["req"], args.seed + 1000, args.val_share) if args.val_share > 0 else np.zeros(len(x), dtype=bool)
    fit_rows = train & ~val
    def vset(rows, ys):
        return (x[rows], [y[rows] for y in ys]) if rows.any() else None
    used = {}
    esmm = Esmm(n_in, hidden)
    used["multitask"] = fit(esmm, esmm_loss, x[fit_rows], [click[fit_rows], buy[fit_rows]], args.epochs, args.batch, args.lr, args.seed,
                            vset(val, [click, buy]), args.patience)
    ctr_only = Single(n_in, hidden)
    used["ctr_only"] = fit(ctr_only, single_loss, x[fit_rows], [click[fit_rows]], args.epochs, args.batch, args.lr, args.seed + 1,
                           vset(val, [click]), args.patience)
    clicked_fit = fit_rows & (click == 1)
    cvr_naive = Single(n_in, hidden)
    # Its data is the clicked rows only: as many epochs (and patience) more as give it the same
    # number of gradient steps as the models trained on every impression.
    steps = max(1, round(fit_rows.sum() / max(1, clicked_fit.sum())))
    used["cvr_clicked_only"] = fit(cvr_naive, single_loss, x[clicked_fit], [buy[clicked_fit]], args.epochs * steps, args.batch, args.lr, args.seed + 2,
                                   vset(val & (click == 1), [buy]), args.patience * steps)

    with torch.no_grad():
        xt = torch.from_numpy(x[test])
        p_ctr, p_cvr = (t.numpy().astype(np.float64) for t in esmm(xt))
        q_ctr = ctr_only(xt).numpy().astype(np.float64)
        q_cvr = cvr_naive(xt).numpy().astype(np.float64)
    yc, yb = click[test], buy[test]
    ctcvr = yc * yb
    clicked = yc == 1

    def block(ctr=None, cvr=None):
        a, l = {}, {}
        if ctr is not None:
            a["ctr"], l["ctr"] = r4(auc(yc, ctr)), r4(logloss(yc, ctr))
        if cvr is not None:
            a["cvr"], l["cvr"] = r4(auc(yb[clicked], cvr[clicked])), r4(logloss(yb[clicked], cvr[clicked]))
            a["cvr_all"] = r4(auc(yb, cvr))
        if ctr is not None and cvr is not None:
            a["ctcvr"], l["ctcvr"] = r4(auc(ctcvr, ctr * cvr)), r4(logloss(ctcvr, ctr * cvr))
        return {"auc": a, "logloss": l}

    metrics = {
        "multitask": block(p_ctr, p_cvr),
        "ctr_only": block(ctr=q_ctr),
        "cvr_clicked_only": block(cvr=q_cvr),
        # The naive CVR tower combined with the CTR-only tower, for a like-for-like CTCVR figure.
        "ctr_only_x_cvr_clicked_only": block(q_ctr, q_cvr),
    }
    summary = {
        "rows": int(len(x)), "requests": len(set(d["req"])),
        "train_rows": int(train.sum()), "test_rows": int(test.sum()),
        "clicks": int(click.sum()), "purchases": int(buy.sum()),
        "test_clicks": int(yc.sum()), "test_purchases": int(yb.sum()),
        "ctr": r4(float(click.mean())), "cvr_given_click": r4(float(buy.sum() / max(1, click.sum()))),
        "surfaces": {s: d["surface"].count(s) for s in sorted(set(d["surface"]))},
        "source": args.source,
    }

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.onnx.tmp"
    torch.onnx.export(
        esmm, torch.zeros(2, n_in), str(tmp), input_names=["features"], output_names=["p_ctr", "p_cvr"],
        dynamic_axes={"features": {0: "n"}, "p_ctr": {0: "n"}, "p_cvr": {0: "n"}}, opset_version=13,
    )
    import onnx
    onnx.checker.check_model(onnx.load(str(tmp)))
    data = tmp.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    weights_sha = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in esmm.parameters())).hexdigest()
    os.replace(tmp, out / "model.onnx")
    meta = {
        "name": "shelf-ranker-esmm",
        "version": args.version or f"ranker-{weights_sha[:12]}",
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "feature_names": FEATURE_NAMES,
        "model_sha256": sha,
        "architecture": {"type": "ESMM", "towers": ["ctr", "cvr"], "hidden": list(hidden), "inputs": n_in},
        "training": {"seed": args.seed, "epochs": args.epochs, "epochs_used": used, "val_share": args.val_share, "patience": args.patience,
                     "batch": args.batch, "lr": args.lr, "split": "by request_id, seeded sha256, 20% test", "seconds": round(time.time() - t0, 1)},
        "metrics": metrics,
        "data": summary,
        "created_by": "models/ranker/train.py",
    }
    mtmp = out / "metadata.json.tmp"
    mtmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(mtmp, out / "metadata.json")
    if args.metrics_out:
        Path(args.metrics_out).write_text(json.dumps({"version": meta["version"], "metrics": metrics, "data": summary}, indent=2) + "\n")
    print(json.dumps({"version": meta["version"], "metrics": metrics, "data": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
