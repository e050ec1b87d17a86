"""ONNX chores for bert.py, run as a child process that never imports torch.

    python3 onnx_weights.py read MODEL.onnx OUT.npz        # the named weights of a BERT export
    python3 onnx_weights.py quantize MODEL.onnx OUT.onnx   # dynamic int8 copy (onnxruntime)
    python3 onnx_weights.py run MODEL.onnx IN.npz OUT.npz  # last_hidden_state for the inputs (onnxruntime)

Why a child process: Debian's torch registers its own, older ONNX protobuf schema when imported,
after which a newer `onnx` (the one onnxruntime's quantizer needs) fails to import in the same
process (models/pretrained/README.md).

`read`: torch.onnx.export keeps the names of parameters it uses as they are (embeddings, LayerNorm
weights, biases) but folds each Linear weight W into a transposed constant `onnx::MatMul_…` that
feeds `MatMul(x, Wᵀ)`, followed by `Add(bias, ·)`. The bias's name names the Linear, so each such
MatMul constant is stored back as `<linear>.weight` = its transpose (Gemm with transB likewise).
Exit code 3: onnxruntime is not installed (`quantize`, `run`).
"""
from __future__ import annotations

import sys

import numpy as np


def read(model_path: str, out_path: str) -> None:
    import onnx
    from onnx import numpy_helper

    m = onnx.load(model_path)
    g = m.graph
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    producer = {o: n for n in g.node for o in n.output}
    out: dict[str, np.ndarray] = {k: v for k, v in consts.items() if not k.startswith("onnx::") and v.ndim >= 1}
    for n in g.node:
        if n.op_type == "Add" and len(n.input) == 2:
            for bias, other in ((n.input[0], n.input[1]), (n.input[1], n.input[0])):
                if not bias.endswith(".bias") or bias not in consts or consts[bias].ndim != 1:
                    continue
                mm = producer.get(other)
                if mm is None or mm.op_type != "MatMul" or mm.input[1] not in consts:
                    continue
                w = consts[mm.input[1]]
                if w.ndim == 2 and w.shape[1] == consts[bias].shape[0]:
                    out[bias[: -len(".bias")] + ".weight"] = np.ascontiguousarray(w.T)
        elif n.op_type == "Gemm" and len(n.input) == 3 and n.input[2].endswith(".bias") and n.input[1] in consts:
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            w = consts[n.input[1]]
            out[n.input[2][: -len(".bias")] + ".weight"] = np.ascontiguousarray(w if trans_b else w.T)
    np.savez(out_path, **out)


def quantize(model_path: str, out_path: str) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        sys.stderr.write("onnxruntime.quantization is not installed\n")
        sys.exit(3)
    # The settings models/pretrained/convert_minilm.py chose for MiniLM (best int8 vs fp32 cosine).
    quantize_dynamic(model_path, out_path, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)


def run(model_path: str, in_path: str, out_path: str) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        sys.stderr.write("onnxruntime is not installed\n")
        sys.exit(3)
    feeds = dict(np.load(in_path))
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    (hidden,) = sess.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in names})
    np.savez(out_path, last_hidden_state=hidden)


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:] or [""]
    if cmd == "read" and len(rest) == 2:
        read(*rest)
    elif cmd == "quantize" and len(rest) == 2:
        quantize(*rest)
    elif cmd == "run" and len(rest) == 3:
        run(*rest)
    else:
        sys.exit(__doc__)
