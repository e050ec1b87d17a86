#!/usr/bin/env python3
"""Writes a second version of the shipped ranker for tests that serve two versions side by side.

    /usr/bin/python3 models/tiny/make_ranker_variant.py [--out test/fixtures/models/ranker-alt]

Same graph and feature spec as models/ranker/default, with every float weight tensor negated and
the version renamed, so it scores the same candidates differently (what an experiment comparing
two ranker versions needs to see). Committed, so the tests never run this;
needs onnx (Debian: python3-onnx) and numpy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "test/fixtures/models/ranker-alt"))
    args = ap.parse_args()
    src = ROOT / "models/ranker/default"
    model = onnx.load(str(src / "model.onnx"))
    changed = 0
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.ndim >= 1 and arr.size > 0 and arr.dtype == np.float32:
            init.CopyFrom(numpy_helper.from_array((-arr).astype(np.float32), init.name))
            changed += 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (out / "model.onnx").write_bytes(data)
    meta = json.loads((src / "metadata.json").read_text())
    meta["version"] = "ranker-fixture-alt"
    meta["model_sha256"] = hashlib.sha256(data).hexdigest()
    meta["note"] = f"test fixture: models/ranker/default with {changed} weight tensors negated (models/tiny/make_ranker_variant.py)"
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out} ({changed} tensors negated)")


if __name__ == "__main__":
    main()
