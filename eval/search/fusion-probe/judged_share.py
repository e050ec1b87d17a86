"""Learned-fusion probe, step 3: the share of each route's top 10 that is judged at all, and judged relevant.

    python3 eval/search/fusion-probe/judged_share.py ROWS.tsv HELDOUT_QUERIES.tsv
"""
import sys, collections, numpy as np
rows, heldp = sys.argv[1:3]
held = {l.split()[0] for l in open(heldp) if l.strip()}
by = collections.defaultdict(list); hdr=None
for l in open(rows):
    f=l.rstrip('\n').split('\t')
    if hdr is None: hdr=f; continue
    if f[0] in held: by[f[0]].append(dict(zip(hdr,f)))
def top(rs, key):
    k=[(float(r[key]) if r[key]!='' else 1e9) for r in rs]; return [rs[i] for i in np.argsort(k, kind='stable')[:10]]
for name,key in [('bm25','bm25_rank'),('vector','vec_rank'),('hybrid','fused_rank')]:
    j=[np.mean([r['grade']!='' for r in top(rs,key)]) for rs in by.values()]
    rel=[np.mean([r['grade']!='' and int(r['grade'])>=2 for r in top(rs,key)]) for rs in by.values()]
    print(f'{name}: judged share of top 10 {np.mean(j):.3f}, grade>=2 share {np.mean(rel):.3f}')
