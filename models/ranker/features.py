"""Ranker featurizer, training side (feature spec "rank-features-v2").

This file and ranking/features.ts implement ONE list: ranking/feature-spec.json. Both take the
same raw inputs (one JSON object per candidate: surface, position, hour, routes, fused_score,
item, user — see the spec's "raw_input") and give the same vector. The shared test vectors in
models/ranker/feature_vectors.json are written here (`python3 models/ranker/features.py
--write-vectors`) and checked by ranking/features.test.ts, which also runs `--check` on vectors
the TypeScript side computed for random inputs.

Training does not recompute features: it reads the vectors the server logged with each
impression (so what is trained on is exactly what was served). This featurizer exists so the
training side can featurize data that was never served (other data sets, offline experiments)
with the same definitions, and to prove the two sides agree.
"""
from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

FEATURE_SPEC_VERSION = "rank-features-v2"
HASH_BUCKETS = 16
HERE = Path(__file__).resolve().parent
SPEC_PATH = HERE.parent.parent / "ranking" / "feature-spec.json"
VECTORS_PATH = HERE / "feature_vectors.json"

FEATURE_NAMES: list[str] = [
    "bm25_present", "bm25_score", "bm25_rank", "bm25_coverage", "bm25_all_terms", "vector_present", "vector_score", "vector_rank", "image_rank",
    "uservector_rank", "uservector_score", "itemcf_rank", "similar_rank", "trending_rank", "category_rank",
    "fused_score", "route_count",
    "price", "price_missing", "popularity", "age", "age_missing",
    *[f"category_hash_{i}" for i in range(HASH_BUCKETS)],
    *[f"brand_hash_{i}" for i in range(HASH_BUCKETS)],
    "user_known", "user_cat_share", "user_cat_top_share", "user_brand_share", "price_gap", "price_gap_abs", "price_band_known",
    "user_views", "user_clicks", "user_carts", "user_purchases", "user_impressions", "user_ctr", "item_recent", "item_purchased",
    "surface_search", "surface_feed", "position", "hour_sin", "hour_cos",
]


def fnv1a32(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_bucket(key: str) -> int:
    return fnv1a32(key) % HASH_BUCKETS


def round6(x: float) -> float:
    # Math.round in JS: round half towards +infinity == floor(x + 0.5).
    r = math.floor(x * 1e6 + 0.5) / 1e6
    return 0.0 if r == 0 else r


def clip(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def inv_rank(r) -> float:
    return 1.0 / math.log2(1 + r["rank"]) if r is not None and r["rank"] >= 1 else 0.0


def log1p0(x: float) -> float:
    return math.log1p(max(0.0, x))


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def bm25_coverage(hit) -> float:
    """A BM25 hit's term coverage in [0, 1]; 1 when the store did not say (as fusion counts it), 0 without a hit."""
    if not hit:
        return 0.0
    c = hit.get("coverage")
    # bool is an int in Python but not a number in JSON/TypeScript: unknown, like null or absent.
    if isinstance(c, bool) or not isinstance(c, (int, float)):
        return 1.0
    return clip(float(c), 0, 1)


def featurize(raw: dict) -> list[float]:
    r = raw["routes"]
    it = raw["item"]
    u = raw.get("user")
    out: list[float] = []
    bm25, vec = r.get("bm25"), r.get("vector")
    out += [1.0 if bm25 else 0.0, log1p0(bm25["score"]) if bm25 else 0.0, inv_rank(bm25)]
    cov = bm25_coverage(bm25)
    out += [cov, 1.0 if bm25 and cov >= 1 else 0.0]
    out += [1.0 if vec else 0.0, clip(vec["score"], -1, 1) if vec else 0.0, inv_rank(vec)]
    out += [inv_rank(r.get("image"))]
    uv = r.get("uservector")
    out += [inv_rank(uv), clip(uv["score"], -1, 1) if uv else 0.0]
    out += [inv_rank(r.get("itemcf")), inv_rank(r.get("similar")), inv_rank(r.get("trending")), inv_rank(r.get("category"))]
    out += [clip(60 * raw["fused_score"], 0, 5), len(r) / 5]
    price = it.get("price")
    price_known = price is not None and price >= 0
    out += [log1p0(price) / 10 if price_known else 0.0, 0.0 if price_known else 1.0]
    out += [log1p0(it["popularity"]) / 10]
    age = it.get("age_days")
    out += [log1p0(age) / 10 if age is not None else 0.0, 0.0 if age is not None else 1.0]
    cat = [0.0] * HASH_BUCKETS
    if it.get("category_key"):
        cat[hash_bucket(it["category_key"].split("/")[0])] = 1.0
    brand = [0.0] * HASH_BUCKETS
    if it.get("brand_key"):
        brand[hash_bucket(it["brand_key"])] = 1.0
    out += cat + brand
    if u:
        out += [1.0, ratio(u["cat_affinity"], u["cat_total"]), clip(ratio(u["cat_top_affinity"], u["cat_total"]), 0, 1), ratio(u["brand_affinity"], u["brand_total"])]
        band = u.get("price_band")
        gap_known = band is not None and band > 0 and price is not None and price > 0
        gap = clip((math.log(price) - math.log(band)) / 2, -3, 3) if gap_known else 0.0
        out += [gap, abs(gap), 1.0 if gap_known else 0.0]
        c = u["counts"]
        out += [log1p0(c["view"]) / 5, log1p0(c["click"]) / 5, log1p0(c["add_to_cart"]) / 5, log1p0(c["purchase"]) / 5, log1p0(c["impression"]) / 5]
        out += [(c["click"] + 1) / (c["impression"] + 10), 1.0 if u["recent"] else 0.0, 1.0 if u["purchased"] else 0.0]
    else:
        out += [0.0] * 12 + [0.1, 0.0, 0.0]
    out += [1.0 if raw["surface"] == "search" else 0.0, 1.0 if raw["surface"] == "feed" else 0.0, 1.0 / math.log2(2 + raw["position"])]
    angle = 2 * math.pi * raw["hour"] / 24
    out += [math.sin(angle), math.cos(angle)]
    assert len(out) == len(FEATURE_NAMES), (len(out), len(FEATURE_NAMES))
    return [round6(x) for x in out]


def spec_names(spec: dict) -> list[str]:
    names: list[str] = []
    for f in spec["features"]:
        names += [f"{f['name']}_{i}" for i in range(f["width"])] if f.get("width") else [f["name"]]
    return names


def random_raw(rng: random.Random) -> dict:
    """A random but plausible raw input, for the shared test vectors."""
    cats = ["home & kitchen/cookware/skillets & pans", "sports/footwear/running shoes", "图书/教育/工具书", "玩具/积木/拼装积木", "électronique/audio", None]
    brands = ["t-fal", "lego", "商务印书馆", "sony", "café bébé", None]
    surface = rng.choice(["search", "feed"])
    names = ["bm25", "vector", "image"] if surface == "search" else ["uservector", "itemcf", "similar", "trending", "category"]
    routes = {}
    for n in names:
        if rng.random() < 0.6:
            score = rng.uniform(-0.2, 1.0) if n in ("vector", "uservector", "image") else rng.uniform(0, 30)
            routes[n] = {"rank": rng.randint(1, 500), "score": round(score, 6)}
            if n == "bm25":
                # Coverage as stores report it (k of n query terms), absent (unknown), or out of range (clipped).
                cov = rng.choice(["absent", 1, 1, 0.5, 1 / 3, 2 / 3, 0.25, 0, 1.2])
                if cov != "absent":
                    routes[n]["coverage"] = cov
    fused = sum(1.0 / (60 + v["rank"]) for v in routes.values())
    price = rng.choice([None, 0, round(rng.uniform(0.5, 3000), 2)])
    user = None
    if rng.random() < 0.75:
        ct = rng.uniform(0, 50)
        bt = rng.uniform(0, 50)
        user = {
            "cat_affinity": round(rng.uniform(0, ct), 6), "cat_top_affinity": round(rng.uniform(0, ct), 6), "cat_total": round(ct, 6) if rng.random() < 0.9 else 0,
            "brand_affinity": round(rng.uniform(0, bt), 6), "brand_total": round(bt, 6),
            "price_band": rng.choice([None, round(rng.uniform(1, 1000), 4)]),
            "counts": {k: rng.randint(0, 400) for k in ("view", "click", "add_to_cart", "purchase", "impression")},
            "recent": rng.random() < 0.2, "purchased": rng.random() < 0.1,
        }
    return {
        "surface": surface, "position": rng.randint(0, 499), "hour": rng.randint(0, 23), "routes": routes, "fused_score": fused,
        "item": {"category_key": rng.choice(cats), "brand_key": rng.choice(brands), "price": price,
                 "popularity": rng.choice([0, rng.randint(1, 100000)]), "age_days": rng.choice([None, round(rng.uniform(0, 2000), 3)])},
        "user": user,
    }


def write_vectors(path: Path = VECTORS_PATH, n: int = 60, seed: int = 7) -> None:
    rng = random.Random(seed)
    cases = [random_raw(rng) for _ in range(n)]
    # Edge cases: nothing known at all, and an exact route hit at rank 1.
    cases.append({"surface": "search", "position": 0, "hour": 0, "routes": {}, "fused_score": 0,
                  "item": {"category_key": None, "brand_key": None, "price": None, "popularity": 0, "age_days": None}, "user": None})
    cases.append({"surface": "feed", "position": 3, "hour": 18, "routes": {"trending": {"rank": 1, "score": 12.5}}, "fused_score": 1 / 61,
                  "item": {"category_key": "sports", "brand_key": "nike", "price": 89.99, "popularity": 7, "age_days": 0},
                  "user": {"cat_affinity": 2, "cat_top_affinity": 3, "cat_total": 4, "brand_affinity": 0, "brand_total": 0, "price_band": 89.99,
                           "counts": {"view": 1, "click": 2, "add_to_cart": 0, "purchase": 0, "impression": 9}, "recent": True, "purchased": False}})
    # Term coverage, all else equal: none, partial, full, unknown (absent, null), no BM25 hit.
    for cov in (0, 1 / 3, 0.5, 1, "absent", None, "no-hit"):
        routes = {"vector": {"rank": 4, "score": 0.41}}
        if cov != "no-hit":
            routes["bm25"] = {"rank": 2, "score": 7.25}
            if cov != "absent":
                routes["bm25"]["coverage"] = cov
        cases.append({"surface": "search", "position": 1, "hour": 12, "routes": routes, "fused_score": 1 / 62 + 1 / 64,
                      "item": {"category_key": "electronics/audio", "brand_key": "sony", "price": 199.0, "popularity": 12, "age_days": 30},
                      "user": None})
    out = {"feature_spec_version": FEATURE_SPEC_VERSION, "names": FEATURE_NAMES,
           "cases": [{"raw": c, "features": featurize(c)} for c in cases]}
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {path}")


def check(path: str) -> int:
    """Recomputes every {raw, features} case in a JSON file; prints a JSON verdict."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    bad = []
    for i, c in enumerate(data["cases"]):
        got = featurize(c["raw"])
        diffs = [(FEATURE_NAMES[j], a, b) for j, (a, b) in enumerate(zip(got, c["features"])) if abs(a - b) > 1e-6]
        if len(got) != len(c["features"]) or diffs:
            bad.append({"case": i, "diffs": diffs[:5], "len": [len(got), len(c["features"])]})
    print(json.dumps({"cases": len(data["cases"]), "mismatches": bad[:10], "version": FEATURE_SPEC_VERSION}))
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    if spec["version"] != FEATURE_SPEC_VERSION or spec_names(spec) != FEATURE_NAMES:
        print(f"features.py does not match {SPEC_PATH}", file=sys.stderr)
        return 1
    if argv[:1] == ["--write-vectors"]:
        write_vectors()
        return 0
    if argv[:1] == ["--check"] and len(argv) == 2:
        return check(argv[1])
    print("usage: features.py --write-vectors | --check FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
