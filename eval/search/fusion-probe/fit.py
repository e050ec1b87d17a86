"""Learned-fusion probe, step 2 (a measurement, not a shipped path).

    python3 eval/search/fusion-probe/fit.py ROWS.tsv HELDOUT_QUERIES.tsv QRELS.tsv [HIDDEN] [MODE]

Learns a fusion over the route features route-features.ts wrote (HIDDEN 0: linear; else a one-hidden-layer
MLP; ListNet top-1 loss per query, early-stopped on a tenth of its training queries) and scores it on
held-out queries against the BM25 route and the shipped fusion, nDCG@10 as eval/kit/metrics.ts computes it.
MODE `heldout-split` (default): the text tower was trained on the other queries, so its similarities are
only honest on the held-out ones; the fusion learns on a seeded half of them and is scored on the other half.
MODE `train-half`: the fusion learns on the tower's own training queries (this over-trusts the vector route).
Also prints condensed-list nDCG (Sakai 2007: unjudged candidates dropped), which tells how much of a gap is
ordering of judged products and how much is judged vs unjudged.
"""
import sys, math, numpy as np, torch, collections
rows_path, heldout_path, qrels_path = sys.argv[1:4]
held = {l.split()[0] for l in open(heldout_path) if l.strip()}
qrels = collections.defaultdict(dict)
for l in open(qrels_path):
    q, _, p, g = l.split(); qrels[q][p] = int(g)
idcg = {}
for q, m in qrels.items():
    gs = sorted((2 ** g - 1 for g in m.values()), reverse=True)[:10]
    idcg[q] = sum(x / math.log2(i + 2) for i, x in enumerate(gs))
by_q = collections.defaultdict(list)
hdr = None
for l in open(rows_path):
    f = l.rstrip('\n').split('\t')
    if hdr is None: hdr = f; continue
    by_q[f[0]].append(dict(zip(hdr, f)))
def fnum(x, d=0.0): return float(x) if x != '' else d
def feats(rs):
    bm = [fnum(r['bm25_score']) for r in rs]; best = max(bm) or 1.0
    vs = [fnum(r['vec_score'], -1) for r in rs if r['vec_score'] != '']; vbest = max(vs) if vs else 0
    anyall = any(r['bm25_cov'] != '' and float(r['bm25_cov']) >= 1 for r in rs)
    out = []
    for r in rs:
        hb = r['bm25_rank'] != ''; hv = r['vec_score'] != ''
        ql = int(r['qlen'])
        out.append([1, hb, fnum(r['bm25_score']) / best if hb else 0, math.log(fnum(r['bm25_rank'], 200)), fnum(r['bm25_cov']) if hb else 0,
                    hv, fnum(r['vec_score']) if hv else 0, (fnum(r['vec_score']) - vbest) if hv else -1, math.log(fnum(r['vec_rank'], 200)),
                    float(r['title_cov']), float(r['phrase']), math.log(1 + float(r['title_len'])), math.log(float(r['fused_rank'])),
                    ql == 1, ql == 2, ql == 3, ql >= 4, anyall])
    return np.array(out, dtype=np.float32)
Q = []
for q, rs in by_q.items():
    X = feats(rs)
    y = np.array([2 ** int(r['grade']) - 1 if r['grade'] != '' else 0 for r in rs], dtype=np.float32)
    Q.append((q, X, y, [int(r['fused_rank']) for r in rs], [fnum(r['bm25_rank'], 1e9) for r in rs]))
def ndcg(q, order_scores, y):
    idx = np.argsort(-np.asarray(order_scores), kind='stable')[:10]
    return sum(y[i] / math.log2(k + 2) for k, i in enumerate(idx)) / idcg[q] if idcg.get(q) else 0.0
mode = sys.argv[5] if len(sys.argv) > 5 else 'heldout-split'
rng = np.random.default_rng(1)
if mode == 'train-half':
    train = [t for t in Q if t[0] not in held]; test = [t for t in Q if t[0] in held]
else:  # the tower saw the training half: learn the fusion on half of the held-out queries, test on the other half
    hq = sorted((t for t in Q if t[0] in held), key=lambda t: t[0]); perm = np.random.default_rng(7).permutation(len(hq))
    train = [hq[i] for i in perm[: len(hq) // 2]]; test = [hq[i] for i in perm[len(hq) // 2:]]
rng.shuffle(train)
nv = len(train) // 10; val, tr = train[:nv], train[nv:]
mu = np.concatenate([t[1] for t in tr]).mean(0); sd = np.concatenate([t[1] for t in tr]).std(0) + 1e-6; mu[0] = 0; sd[0] = 1
torch.manual_seed(1)
hidden = int(sys.argv[4]) if len(sys.argv) > 4 else 32
net = torch.nn.Sequential(torch.nn.Linear(len(mu), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)) if hidden else torch.nn.Linear(len(mu), 1)
opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
T = lambda X: torch.tensor((X - mu) / sd)
def score(X):
    with torch.no_grad(): return net(T(X)).squeeze(-1).numpy()
def evaluate(qs): return float(np.mean([ndcg(q, score(X), y) for q, X, y, _, _ in qs]))
best, best_state = -1, None
for ep in range(40):
    rng.shuffle(tr)
    for q, X, y, _, _ in tr:
        if y.sum() == 0: continue
        s = net(T(X)).squeeze(-1)
        p = torch.tensor(y / y.sum())
        loss = -(p * torch.log_softmax(s, 0)).sum()  # ListNet top-1
        opt.zero_grad(); loss.backward(); opt.step()
    v = evaluate(val)
    if v > best: best, best_state, best_ep = v, {k: x.clone() for k, x in net.state_dict().items()}, ep
    print(f'epoch {ep} val {v:.4f}', flush=True)
net.load_state_dict(best_state)
bm = np.array([ndcg(q, -np.asarray(b), y) for q, X, y, f, b in test])
hy = np.array([ndcg(q, -np.asarray(f, float), y) for q, X, y, f, b in test])
lf = np.array([ndcg(q, score(X), y) for q, X, y, f, b in test])
print(f'best epoch {best_ep} val {best:.4f}; held-out {len(test)} queries (judged in candidates)')
print(f'BM25 (order by bm25 rank among candidates) {bm.mean():.4f}  shipped hybrid {hy.mean():.4f} ({hy.mean()/bm.mean():.4f})  learned {lf.mean():.4f} ({lf.mean()/bm.mean():.4f})')
d = lf - bm; bs = [rng.choice(d, len(d)).mean() for _ in range(2000)]
print(f'learned - BM25 {d.mean():+.4f} [{np.percentile(bs, 2.5):+.4f}, {np.percentile(bs, 97.5):+.4f}]')
# Condensed lists (Sakai 2007): unjudged candidates removed before scoring; judgments here were pooled from a lexical engine.
def cnd(q, sc, y, judged):
    idx = [i for i in np.argsort(-np.asarray(sc), kind='stable') if judged[i]][:10]
    return sum(y[i] / math.log2(k + 2) for k, i in enumerate(idx)) / idcg[q] if idcg.get(q) else 0.0
J = {t[0]: np.array([r['grade'] != '' for r in by_q[t[0]]]) for t in test}
cb = np.mean([cnd(q, -np.asarray(b), y, J[q]) for q, X, y, f, b in test])
ch = np.mean([cnd(q, -np.asarray(f, float), y, J[q]) for q, X, y, f, b in test])
cl = np.mean([cnd(q, score(X), y, J[q]) for q, X, y, f, b in test])
cv = np.mean([cnd(q, [-(float(r['vec_rank']) if r['vec_rank'] != '' else 1e9) for r in by_q[q]], y, J[q]) for q, X, y, f, b in test])
print(f'condensed (judged only): BM25 {cb:.4f} vector {cv:.4f} hybrid {ch:.4f} ({ch/cb:.4f}) learned {cl:.4f} ({cl/cb:.4f})')
