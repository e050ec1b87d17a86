"""A BERT sentence encoder in plain PyTorch, read from and written back to a transformers.js folder.

    python3 models/text_embedder/bert.py --make-tiny OUT --tokenizer-from DIR [--seed S]

`train.py --base MODEL_DIR` fine-tunes a transformers.js-format sentence-embedding model (for
example all-MiniLM-L6-v2 as `models/pretrained/convert_minilm.py` builds it) with this file:

* `WordPiece`: the tokenizer of the folder's `tokenizer.json` (BertNormalizer, BertPreTokenizer,
  WordPiece, `[CLS] … [SEP]`), as transformers.js runs it in the service. No `tokenizers` or
  `transformers` package is needed; the exported model card records embeddings the service must
  reproduce (train.test.ts checks them through `loadTextEmbedder`).
* `BertEncoder`: embeddings + post-LayerNorm transformer layers, parameter names as in Hugging
  Face's BertModel, so the ONNX graph's initializers map onto it.
* `load_base`: the weights come from the folder's fp32 `onnx/model.onnx` (the folder carries no
  other weights). torch.onnx.export keeps parameter names for embeddings, LayerNorms and biases and
  folds each Linear weight into a transposed MatMul constant; `onnx_weights.py` (run in a child
  process, see there why) recovers those through the bias Add that follows each MatMul.
* `export_folder`: the same layout back (config and tokenizer files copied, `onnx/model.onnx`,
  and `onnx/model_quantized.onnx` when the interpreter has onnxruntime's quantizer).
* `--make-tiny`: a seeded random BERT (2 layers, 32 dimensions) on another folder's tokenizer, in
  the same layout: the project's own base model for the end-to-end test (no third-party weights).

The sentence embedding is the sentence-transformers one the service computes: mean over the
attention mask of the last hidden states, L2-normalised.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
OPSET = 14  # transformers.js 2.x runs onnxruntime-node 1.14: opset <= 18
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


# ---- tokenizer --------------------------------------------------------------------------------


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class WordPiece:
    """The BERT tokenizer of a `tokenizer.json` (Hugging Face tokenizers format)."""

    def __init__(self, tokenizer_json: Path):
        spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        model = spec.get("model") or {}
        if model.get("type") != "WordPiece":
            raise ValueError(f"{tokenizer_json}: model type {model.get('type')!r}, only WordPiece (BERT) is supported")
        norm = spec.get("normalizer") or {}
        if norm and norm.get("type") != "BertNormalizer":
            raise ValueError(f"{tokenizer_json}: normalizer {norm.get('type')!r}, only BertNormalizer is supported")
        self.vocab: dict[str, int] = model["vocab"]
        self.unk = self.vocab[model.get("unk_token", "[UNK]")]
        self.prefix = model.get("continuing_subword_prefix", "##")
        self.max_chars = int(model.get("max_input_chars_per_word", 100))
        self.clean = norm.get("clean_text", True)
        self.chinese = norm.get("handle_chinese_chars", True)
        self.lower = norm.get("lowercase", True)
        sa = norm.get("strip_accents")
        self.strip_accents = self.lower if sa is None else bool(sa)
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self.pad = self.vocab.get("[PAD]", 0)
        self.cache: dict[str, list[int]] = {}

    def _normalize(self, text: str) -> str:
        out = []
        for ch in text:
            cp = ord(ch)
            if self.clean:
                if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                    continue
                if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
                    ch = " "
            if self.chinese and _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        s = "".join(out)
        if self.strip_accents:
            s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
        if self.lower:
            s = s.lower()
        return s

    def _words(self, s: str) -> list[str]:
        words: list[str] = []
        cur: list[str] = []
        for ch in s:
            if ch.isspace():
                if cur:
                    words.append("".join(cur))
                    cur = []
            elif _is_punct(ch):
                if cur:
                    words.append("".join(cur))
                    cur = []
                words.append(ch)
            else:
                cur.append(ch)
        if cur:
            words.append("".join(cur))
        return words

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > self.max_chars:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def ids(self, text: str, max_length: int) -> list[int]:
        """[CLS] tokens [SEP], cut to max_length tokens in all."""
        hit = self.cache.get(text)
        if hit is None:
            hit = [i for w in self._words(self._normalize(text)) for i in self._wordpiece(w)]
            if len(self.cache) > 500_000:
                self.cache.clear()
            self.cache[text] = hit
        return [self.cls] + hit[: max(0, max_length - 2)] + [self.sep]

    def batch(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """input_ids and attention_mask [batch, longest], padded on the right."""
        seqs = [self.ids(t, max_length) for t in texts]
        n = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), n), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), n), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return ids, mask


# ---- model ------------------------------------------------------------------------------------


class _Embeddings(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=c.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(c.get("max_position_embeddings", 512), h)
        self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), h)
        self.LayerNorm = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))

    def forward(self, input_ids, token_type_ids):
        pos = torch.arange(input_ids.shape[1], dtype=torch.long).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class _Linear(nn.Module):
    """`.dense` inside a named block, as BertModel names it."""

    def __init__(self, n_in: int, n_out: int, eps: float | None = None):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _SelfAttention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        if h % self.heads:
            raise ValueError(f"hidden_size {h} is not a multiple of num_attention_heads {self.heads}")
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.dropout = nn.Dropout(c.get("attention_probs_dropout_prob", 0.1))

    def forward(self, x, bias):
        b, n, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d) + bias
        att = self.dropout(att.softmax(-1))
        return (att @ v).transpose(1, 2).reshape(b, n, h)


class _Attention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Linear(c["hidden_size"], c["hidden_size"], c.get("layer_norm_eps", 1e-12))


class _Layer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h, i, eps = c["hidden_size"], c["intermediate_size"], c.get("layer_norm_eps", 1e-12)
        self.attention = _Attention(c)
        self.intermediate = _Linear(h, i)
        self.output = _Linear(i, h, eps)
        self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))

    def forward(self, x, bias):
        a = self.attention.self(x, bias)
        x = self.attention.output.LayerNorm(x + self.dropout(self.attention.output.dense(a)))
        y = F.gelu(self.intermediate.dense(x))  # BERT's "gelu" is the exact (erf) one
        return self.output.LayerNorm(x + self.dropout(self.output.dense(y)))


class _Encoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c["num_hidden_layers"]))


class BertEncoder(nn.Module):
    """BertModel's last_hidden_state (no pooler: sentence embeddings pool the token states)."""

    def __init__(self, config: dict):
        super().__init__()
        act = config.get("hidden_act", "gelu")
        if act != "gelu":
            raise ValueError(f"hidden_act {act!r}: only BERT's exact gelu is supported")
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    def forward(self, input_ids, attention_mask, token_type_ids):
        # Padding keys get a large negative bias (BertModel: the dtype's minimum).
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return x


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).float()
    v = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
    return F.normalize(v, dim=-1, eps=1e-12)


class SentenceEncoder:
    """Texts -> unit vectors with one BertEncoder and its tokenizer (what the service computes)."""

    def __init__(self, model: BertEncoder, tok: WordPiece, max_length: int):
        self.model = model
        self.tok = tok
        self.max_length = max_length

    def __call__(self, texts: list[str]) -> torch.Tensor:
        """With gradients when the model is in training mode."""
        ids, mask = self.tok.batch(texts, self.max_length)
        return mean_pool(self.model(ids, mask, torch.zeros_like(ids)), mask)

    def encode(self, texts: list[str], bs: int = 128) -> torch.Tensor:
        """No gradients, eval mode, batches of similar length (padding is wasted work)."""
        if not texts:
            return torch.zeros(0, self.model.config["hidden_size"])
        was = self.model.training
        self.model.eval()
        order = sorted(range(len(texts)), key=lambda i: len(self.tok.ids(texts[i], self.max_length)))
        out = torch.zeros(len(texts), self.model.config["hidden_size"])
        with torch.no_grad():
            for s in range(0, len(order), bs):
                idx = order[s : s + bs]
                out[idx] = self([texts[i] for i in idx])
        self.model.train(was)
        return out


# ---- reading and writing transformers.js folders ------------------------------------------------


def _child(code_file: Path, *args: str) -> None:
    """Runs a helper in a fresh interpreter that never imports torch: Debian's torch registers an
    older ONNX protobuf schema on import, after which a newer `onnx` fails in the same process."""
    r = subprocess.run([sys.executable, str(code_file), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{code_file.name} {' '.join(args)} failed: {r.stderr.strip()[-2000:]}")


def load_base(model_dir: Path) -> tuple[BertEncoder, WordPiece, dict]:
    """The model, its tokenizer and config from a transformers.js folder (fp32 onnx/model.onnx)."""
    model_dir = Path(model_dir)
    for f in ("config.json", "tokenizer.json", "onnx/model.onnx"):
        if not (model_dir / f).exists():
            sys.exit(f"--base {model_dir}: no {f} (a transformers.js folder with the fp32 onnx/model.onnx is needed)")
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") not in ("bert", None):
        sys.exit(f"--base {model_dir}: model_type {config.get('model_type')!r}; only BERT-style encoders are supported")
    model = BertEncoder(config)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "weights.npz"
        _child(HERE / "onnx_weights.py", "read", str(model_dir / "onnx" / "model.onnx"), str(npz))
        raw = dict(np.load(npz))
    want = model.state_dict()
    state = {}
    for key in want:
        hits = [k for k in raw if k == key or k.endswith("." + key)]
        if len(hits) != 1:
            sys.exit(f"--base {model_dir}: cannot find weight {key} in onnx/model.onnx ({len(hits)} candidates)")
        w = torch.from_numpy(raw[hits[0]].astype(np.float32))
        if w.shape != want[key].shape:
            sys.exit(f"--base {model_dir}: weight {key} has shape {tuple(w.shape)}, expected {tuple(want[key].shape)}")
        state[key] = w
    model.load_state_dict(state)
    return model, WordPiece(model_dir / "tokenizer.json"), config


class _LastHidden(nn.Module):
    """The exported graph's signature: the one convert_minilm.py and transformers.js use."""

    def __init__(self, m: BertEncoder):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids, attention_mask, token_type_ids)


def export_folder(model: BertEncoder, tok: WordPiece, base_dir: Path, out: Path, quantize: bool = True) -> dict:
    """Writes out/ in the base folder's layout; returns what was written and checked."""
    out = Path(out)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    for f in TOKENIZER_FILES:
        if (base_dir / f).exists():
            shutil.copyfile(base_dir / f, out / f)
    config = dict(model.config)
    config.pop("_comment", None)
    config["_shelf"] = "fine-tuned by models/text_embedder/train.py --base (MODEL_CARD.md)"
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    model.eval()
    wrapped = _LastHidden(model).eval()
    ids, mask = tok.batch(["probe text", "a"], 16)
    onnx_path = out / "onnx" / "model.onnx"
    axes = {0: "batch_size", 1: "sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            (ids, mask, torch.zeros_like(ids)),
            str(onnx_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    info: dict = {"quantized": False}
    quant = out / "onnx" / "model_quantized.onnx"
    if quant.exists():
        quant.unlink()
    if quantize:
        try:
            _child(HERE / "onnx_weights.py", "quantize", str(onnx_path), str(quant))
            info["quantized"] = quant.exists()
        except RuntimeError as e:
            info["quantize_skipped"] = str(e).splitlines()[-1][:300]
    return info


# ---- the project's own tiny base model ------------------------------------------------------------


def make_tiny(out: Path, tokenizer_from: Path, seed: int) -> None:
    """A seeded random BERT (2 layers, 32 dimensions, 2 heads) in transformers.js layout."""
    vocab = len(json.loads((tokenizer_from / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "vocab_size": vocab,
        "pad_token_id": 0,
        "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "_comment": f"tiny random BERT made by models/text_embedder/bert.py --make-tiny (seed {seed})",
    }
    torch.manual_seed(seed)
    model = BertEncoder(config)
    with torch.no_grad():
        # No two parameters equal (zero biases, unit LayerNorm weights): an exporter may merge
        # identical constants, and every weight must keep its own name in the graph.
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.02 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.normal_(0.0, 0.02)
            else:
                p.normal_(0.0, 0.2 if "embeddings" in name else 0.08)
    tmp = Path(tempfile.mkdtemp())
    try:
        for f in TOKENIZER_FILES:
            if (tokenizer_from / f).exists():
                shutil.copyfile(tokenizer_from / f, tmp / f)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        export_folder(model, WordPiece(tmp / "tokenizer.json"), tmp, Path(out), quantize=False)
        cfg = json.loads((Path(out) / "config.json").read_text())
        cfg.pop("_shelf", None)
        cfg["_comment"] = config["_comment"]
        (Path(out) / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make-tiny", metavar="OUT", required=True, help="write a tiny random BERT here")
    ap.add_argument("--tokenizer-from", required=True, help="folder whose tokenizer files the tiny model uses")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    torch.set_num_threads(1)
    make_tiny(Path(args.make_tiny), Path(args.tokenizer_from), args.seed)
    print(f"wrote {args.make_tiny}")


if __name__ == "__main__":
    main()
