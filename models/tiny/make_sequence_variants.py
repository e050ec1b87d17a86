#!/usr/bin/env python3
"""Writes two small sequence models over the demo catalog, for tests that serve two versions side by side.

    /usr/bin/python3 models/tiny/make_sequence_variants.py [--out test/fixtures/models]

Each is a folder in the format `npm run train -- sequence` writes (shelf-sequence-v1, read by
retrieval/recall/sequence-model.ts): shopper_tower.onnx, item_tower.onnx, items.json and
metadata.json (sha256 of each file, written last). The towers are not trained: the item table is
an initializer and the shopper vector is the sum of the history's item vectors (padding row 0 is
zero), so the model is a few kilobytes and needs no PyTorch.

- sequence-a (version `sequence-fixture-a`): items of one top-level category share a direction
  (plus seeded noise), so a shopper's next items and a product's neighbours stay in its category.
- sequence-b (version `sequence-fixture-b`): seeded random vectors, so the same shopper gets other
  candidates than from sequence-a (what an experiment comparing two versions needs to see).

Committed, so the tests never run this; needs onnx (Debian: python3-onnx) and numpy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
FORMAT = "shelf-sequence-v1"
DIM = 8
MAX_LEN = 10


def towers(table: np.ndarray) -> tuple[bytes, bytes]:
    """(shopper_tower.onnx, item_tower.onnx) over `table` (items + 1 rows, row 0 the padding)."""
    emb = numpy_helper.from_array(table.astype(np.float32), "embedding")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    shopper = helper.make_graph(
        [
            helper.make_node("Gather", ["embedding", "items"], ["gathered"], axis=0),
            helper.make_node("ReduceSum", ["gathered", "axes"], ["shopper"], keepdims=0),
        ],
        "shopper_tower",
        [helper.make_tensor_value_info("items", TensorProto.INT64, ["n", MAX_LEN])],
        [helper.make_tensor_value_info("shopper", TensorProto.FLOAT, ["n", DIM])],
        [emb, axes],
    )
    item = helper.make_graph(
        [helper.make_node("Gather", ["embedding", "ids"], ["vectors"], axis=0)],
        "item_tower",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["m"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["m", DIM])],
        [emb],
    )
    out = []
    for g in (shopper, item):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], producer_name="make_sequence_variants")
        m.ir_version = 8
        onnx.checker.check_model(m)
        out.append(m.SerializeToString())
    return out[0], out[1]


def write(out: Path, version: str, ids: list[str], table: np.ndarray, note: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shopper, item = towers(table)
    items = (json.dumps(ids, ensure_ascii=False) + "\n").encode()
    files = {"shopper_tower.onnx": shopper, "item_tower.onnx": item, "items.json": items}
    for name, data in files.items():
        (out / name).write_bytes(data)
    meta = {
        "name": "shelf-sequence-fixture",
        "format": FORMAT,
        "version": version,
        "dim": DIM,
        "max_len": MAX_LEN,
        "items": len(ids),
        "inputs": ["items"],
        "types": ["view", "click", "add_to_cart", "purchase"],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "note": f"test fixture ({note}); models/tiny/make_sequence_variants.py",
    }
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out} ({version}, {len(ids)} items)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "test/fixtures/models"))
    ap.add_argument("--catalog", default=str(ROOT / "data/demo/catalog.jsonl"))
    args = ap.parse_args()
    products = [json.loads(line) for line in Path(args.catalog).read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [p["id"] for p in products]
    tops = sorted({p["category"].split("/")[0] for p in products})
    rng = np.random.default_rng(16)
    directions = rng.normal(size=(len(tops), DIM))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    by_category = np.zeros((len(ids) + 1, DIM))
    for i, p in enumerate(products):
        by_category[i + 1] = directions[tops.index(p["category"].split("/")[0])] + 0.3 * rng.normal(size=DIM)
    write(Path(args.out) / "sequence-a", "sequence-fixture-a", ids, by_category, "items of a top-level category share a direction")
    noise = np.zeros((len(ids) + 1, DIM))
    noise[1:] = np.random.default_rng(17).normal(size=(len(ids), DIM))
    write(Path(args.out) / "sequence-b", "sequence-fixture-b", ids, noise, "seeded random item vectors")


if __name__ == "__main__":
    main()
