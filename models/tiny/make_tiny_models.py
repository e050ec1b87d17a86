#!/usr/bin/env python3
"""Writes the tiny test models that the transformers.js embedders are tested on.

    python3 models/tiny/make_tiny_models.py [--out test/fixtures/models]

Both models are made here from a fixed seed: no third-party weights, no network. They are
small (well under 1 MB together) and are committed, so the tests never need this script; run
it again only to change the fixtures. Needs numpy and onnx (Debian: python3-numpy,
python3-onnx). The output is byte-for-byte deterministic for a given numpy/onnx version.

tiny-bert/   a BERT-shaped feature-extraction model in transformers.js layout:
             config.json (model_type "bert"), tokenizer.json (WordPiece, ~450 entries),
             tokenizer_config.json, onnx/model.onnx with inputs input_ids, attention_mask,
             token_type_ids ([batch, seq] int64) and output last_hidden_state [batch, seq, 32].
             Each token's vector is a seeded random embedding mixed with the masked mean of
             the sequence (so padding never changes a text's vector), through one tanh layer.

tiny-clip/   a CLIP-shaped pair: onnx/text_model.onnx (input_ids, attention_mask ->
             text_embeds [batch, 32]) and onnx/vision_model.onnx (pixel_values
             [batch, 3, 32, 32] -> image_embeds [batch, 32]), preprocessor_config.json
             (CLIPFeatureExtractor, 32x32) and the same WordPiece tokenizer. The weights are
             random except for a planted colour signal: the first three dimensions of an
             image embedding are its mean normalised R, G, B, and the words "red", "green",
             "blue" (...) point the same way, so a test can check that the text "red" lands
             nearer a red image than a blue one — i.e. that both towers and the image
             preprocessing are wired the right way round.
"""
from __future__ import annotations

import argparse
import json
import os
from collections import OrderedDict

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIM = 32
OPSET = 14  # onnxruntime-node 1.14 (the one transformers.js 2.x ships) runs opset <= 18
IR_VERSION = 8
SEED = 20240601

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']

WORDS = """
a about after again all also always an and any are around as at away back bag bags be
because been before best better big black blue body book books both bottle bowl box boy
brown but buy by can cap car card case chair cheap child children classic clean clear
coat coffee cold color colour comfortable cook cooking cotton cover cream cup cut dark day
dress drink easy electric every extra face fast fit floor for free fresh from full game
garden get gift girl give glass gold good great green grey gray hair hand handle hard has
have he head heavy her high his home hot house how if in inch iron is it its jacket jeans
just keep kids kitchen lamp large leather left light like line little long look low made
make man many may men metal mini more most mug much my natural need new night no not now
of off oil old on one only open or orange other our out outdoor over pack pair pan paper
part party pink plastic play plus power pro product put quality rain read red right ring
room round rubber run running safe same set she shirt shoe shoes short should silver size
skillet sleep small smart so soft some sport sports steel stone storage strong style summer
super table than that the their them then there these they thin this time to top travel
tree two under up us use used very wall warm was watch water way we wear well were what
when which white who wide will winter with women wood wooden work world year yellow you
young your zip sneaker sneakers jogging trainers cast walking boots sandal sandals phone
charger cable laptop headphones speaker camera tv screen keyboard mouse pillow blanket
towel sofa desk mattress knife fork spoon plate pot kettle toaster blender vacuum shampoo
soap cream perfume lipstick necklace earrings bracelet wallet belt hat scarf gloves socks
sweater hoodie shorts skirt backpack tent bike helmet ball yoga mat toy puzzle lego doll
""".split()

# Every letter and digit alone and as a continuation piece, so any ASCII word tokenizes
# (as pieces) instead of falling back to [UNK]; plus the common English suffixes.
LETTERS = [chr(c) for c in range(ord('a'), ord('z') + 1)] + [str(d) for d in range(10)]
SUFFIXES = ['s', 'es', 'ed', 'er', 'ers', 'est', 'ing', 'ly', 'ness', 'ment', 'able', 'ful', 'less', 'y']
PUNCT = list('.,:;!?\'"-()/&%$#@+*=[]_')


def build_vocab() -> list[str]:
    vocab: list[str] = []
    seen: set[str] = set()

    def add(tok: str) -> None:
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)

    for t in SPECIALS:
        add(t)
    for t in PUNCT:
        add(t)
    for t in LETTERS:
        add(t)
    for t in LETTERS:
        add('##' + t)
    for t in SUFFIXES:
        add('##' + t)
    for w in WORDS:
        add(w)
    return vocab


def tokenizer_json(vocab: list[str]) -> dict:
    ids = {t: i for i, t in enumerate(vocab)}
    return OrderedDict(
        version='1.0',
        truncation=None,
        padding=None,
        added_tokens=[
            dict(id=ids[t], content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
            for t in SPECIALS
        ],
        normalizer=dict(type='BertNormalizer', clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True),
        pre_tokenizer=dict(type='BertPreTokenizer'),
        post_processor=dict(
            type='TemplateProcessing',
            single=[
                {'SpecialToken': {'id': '[CLS]', 'type_id': 0}},
                {'Sequence': {'id': 'A', 'type_id': 0}},
                {'SpecialToken': {'id': '[SEP]', 'type_id': 0}},
            ],
            pair=[
                {'SpecialToken': {'id': '[CLS]', 'type_id': 0}},
                {'Sequence': {'id': 'A', 'type_id': 0}},
                {'SpecialToken': {'id': '[SEP]', 'type_id': 0}},
                {'Sequence': {'id': 'B', 'type_id': 1}},
                {'SpecialToken': {'id': '[SEP]', 'type_id': 1}},
            ],
            special_tokens={
                '[CLS]': {'id': '[CLS]', 'ids': [ids['[CLS]']], 'tokens': ['[CLS]']},
                '[SEP]': {'id': '[SEP]', 'ids': [ids['[SEP]']], 'tokens': ['[SEP]']},
            },
        ),
        decoder=dict(type='WordPiece', prefix='##', cleanup=True),
        model=dict(
            type='WordPiece',
            unk_token='[UNK]',
            continuing_subword_prefix='##',
            max_input_chars_per_word=100,
            vocab=OrderedDict((t, i) for i, t in enumerate(vocab)),
        ),
    )


def tokenizer_config(max_len: int) -> dict:
    return OrderedDict(
        tokenizer_class='BertTokenizer',
        do_lower_case=True,
        tokenize_chinese_chars=True,
        strip_accents=None,
        unk_token='[UNK]',
        sep_token='[SEP]',
        pad_token='[PAD]',
        cls_token='[CLS]',
        mask_token='[MASK]',
        model_max_length=max_len,
    )


def f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(arr, name)


def const_i64(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def masked_mean_nodes(x: str, mask: str, out: str, keepdims: int) -> list[onnx.NodeProto]:
    """out = sum_s(x * mask) / max(sum_s(mask), 1); x [b,s,d], mask int64 [b,s]."""
    return [
        helper.make_node('Cast', [mask], [f'{out}_maskf'], to=TensorProto.FLOAT),
        helper.make_node('Unsqueeze', [f'{out}_maskf', 'axes_2'], [f'{out}_mask3']),
        helper.make_node('Mul', [x, f'{out}_mask3'], [f'{out}_xm']),
        helper.make_node('ReduceSum', [f'{out}_xm', 'axes_1'], [f'{out}_sum'], keepdims=keepdims),
        helper.make_node('ReduceSum', [f'{out}_mask3', 'axes_1'], [f'{out}_cnt0'], keepdims=keepdims),
        helper.make_node('Max', [f'{out}_cnt0', 'one_f'], [f'{out}_cnt']),
        helper.make_node('Div', [f'{out}_sum', f'{out}_cnt'], [out]),
    ]


def save(model: onnx.ModelProto, path: str) -> None:
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(model.SerializeToString())


def make_model(graph: onnx.GraphProto) -> onnx.ModelProto:
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='shelf-make-tiny-models')
    m.ir_version = IR_VERSION
    return m


def tiny_bert_graph(rng: np.random.RandomState, vocab_size: int) -> onnx.ModelProto:
    word = f32(rng.normal(0, 1, (vocab_size, DIM)))
    word[0] = 0  # [PAD]
    types = f32(rng.normal(0, 0.1, (2, DIM)))
    w_tok = f32(rng.normal(0, 1 / np.sqrt(DIM), (DIM, DIM)))
    w_ctx = f32(rng.normal(0, 0.5 / np.sqrt(DIM), (DIM, DIM)))
    bias = f32(rng.normal(0, 0.05, (DIM,)))

    dyn = ['batch', 'sequence']
    inputs = [
        helper.make_tensor_value_info('input_ids', TensorProto.INT64, dyn),
        helper.make_tensor_value_info('attention_mask', TensorProto.INT64, dyn),
        helper.make_tensor_value_info('token_type_ids', TensorProto.INT64, dyn),
    ]
    outputs = [helper.make_tensor_value_info('last_hidden_state', TensorProto.FLOAT, ['batch', 'sequence', DIM])]
    nodes = [
        helper.make_node('Gather', ['word_embeddings', 'input_ids'], ['tok_e']),
        helper.make_node('Gather', ['token_type_embeddings', 'token_type_ids'], ['type_e']),
        helper.make_node('Add', ['tok_e', 'type_e'], ['emb']),
        *masked_mean_nodes('emb', 'attention_mask', 'ctx', keepdims=1),  # [b,1,d]
        helper.make_node('MatMul', ['emb', 'w_tok'], ['h_tok']),
        helper.make_node('MatMul', ['ctx', 'w_ctx'], ['h_ctx']),
        helper.make_node('Add', ['h_tok', 'h_ctx'], ['h_sum']),
        helper.make_node('Add', ['h_sum', 'bias'], ['h_pre']),
        helper.make_node('Tanh', ['h_pre'], ['last_hidden_state']),
    ]
    inits = [
        init('word_embeddings', word),
        init('token_type_embeddings', types),
        init('w_tok', w_tok),
        init('w_ctx', w_ctx),
        init('bias', bias),
        const_i64('axes_1', [1]),
        const_i64('axes_2', [2]),
        init('one_f', f32(np.array(1.0))),
    ]
    return make_model(helper.make_graph(nodes, 'tiny_bert', inputs, outputs, inits))


# CLIP's image normalisation; the planted colour directions are pure colours through it.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGE = 32
POOL = 4  # 32x32 -> 8x8 before the projection: keeps the vision weights at 6 KB-ish
COLOURS = {
    'red': (1, 0, 0), 'green': (0, 1, 0), 'blue': (0, 0, 1), 'black': (0, 0, 0), 'white': (1, 1, 1),
    'yellow': (1, 1, 0), 'orange': (1, 0.5, 0), 'pink': (1, 0.75, 0.8), 'grey': (0.5, 0.5, 0.5),
    'gray': (0.5, 0.5, 0.5), 'brown': (0.6, 0.3, 0.1), 'silver': (0.75, 0.75, 0.75), 'gold': (1, 0.84, 0),
}
COLOUR_GAIN = 4.0  # how strongly the first three dims dominate the rest


def colour_vec(rgb: tuple[float, float, float]) -> np.ndarray:
    return np.array([(c - m) / s for c, m, s in zip(rgb, CLIP_MEAN, CLIP_STD)], dtype=np.float32)


def tiny_clip_graphs(rng: np.random.RandomState, vocab: list[str]) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    # Text tower: masked mean of token embeddings -> linear projection (HF's text_embeds are
    # not normalised either; the embedder normalises).
    word = f32(rng.normal(0, 0.3, (len(vocab), DIM)))
    word[0] = 0
    for w, rgb in COLOURS.items():
        if w in vocab:
            i = vocab.index(w)
            word[i, :3] = colour_vec(rgb) * COLOUR_GAIN
            word[i, 3:] *= 0.5
    proj_t = np.eye(DIM, dtype=np.float32)
    proj_t[3:, 3:] += f32(rng.normal(0, 0.2, (DIM - 3, DIM - 3)))
    proj_t = f32(proj_t)

    dyn = ['batch', 'sequence']
    t_inputs = [
        helper.make_tensor_value_info('input_ids', TensorProto.INT64, dyn),
        helper.make_tensor_value_info('attention_mask', TensorProto.INT64, dyn),
    ]
    t_outputs = [helper.make_tensor_value_info('text_embeds', TensorProto.FLOAT, ['batch', DIM])]
    t_nodes = [
        helper.make_node('Gather', ['word_embeddings', 'input_ids'], ['emb']),
        *masked_mean_nodes('emb', 'attention_mask', 'pooled', keepdims=0),  # [b,d]
        helper.make_node('MatMul', ['pooled', 'text_projection'], ['text_embeds']),
    ]
    t_inits = [
        init('word_embeddings', word),
        init('text_projection', proj_t),
        const_i64('axes_1', [1]),
        const_i64('axes_2', [2]),
        init('one_f', f32(np.array(1.0))),
    ]
    text = make_model(helper.make_graph(t_nodes, 'tiny_clip_text', t_inputs, t_outputs, t_inits))

    # Vision tower: image_embeds = [mean R, mean G, mean B] * gain  ++  tanh(pool8x8(x) @ W)
    side = IMAGE // POOL
    feat = 3 * side * side
    w_vis = f32(rng.normal(0, 1 / np.sqrt(feat), (feat, DIM - 3)))
    v_inputs = [helper.make_tensor_value_info('pixel_values', TensorProto.FLOAT, ['batch', 3, IMAGE, IMAGE])]
    v_outputs = [helper.make_tensor_value_info('image_embeds', TensorProto.FLOAT, ['batch', DIM])]
    v_nodes = [
        helper.make_node('GlobalAveragePool', ['pixel_values'], ['gap']),  # [b,3,1,1]
        helper.make_node('Flatten', ['gap'], ['rgb'], axis=1),  # [b,3]
        helper.make_node('Mul', ['rgb', 'colour_gain'], ['rgb_g']),
        helper.make_node('AveragePool', ['pixel_values'], ['pooled'], kernel_shape=[POOL, POOL], strides=[POOL, POOL]),
        helper.make_node('Flatten', ['pooled'], ['flat'], axis=1),  # [b, 3*8*8]
        helper.make_node('MatMul', ['flat', 'w_vis'], ['rest_pre']),
        helper.make_node('Tanh', ['rest_pre'], ['rest']),
        helper.make_node('Concat', ['rgb_g', 'rest'], ['image_embeds'], axis=1),
    ]
    v_inits = [init('w_vis', w_vis), init('colour_gain', f32(np.array(COLOUR_GAIN)))]
    vision = make_model(helper.make_graph(v_nodes, 'tiny_clip_vision', v_inputs, v_outputs, v_inits))
    return text, vision


def write_json(path: str, obj: object) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write('\n')


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, '..', '..', 'test', 'fixtures', 'models'))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=default_out)
    args = ap.parse_args()

    vocab = build_vocab()
    rng = np.random.RandomState(SEED)

    bert = os.path.join(args.out, 'tiny-bert')
    write_json(os.path.join(bert, 'config.json'), OrderedDict(
        architectures=['BertModel'], model_type='bert', hidden_size=DIM, num_hidden_layers=1,
        num_attention_heads=1, intermediate_size=DIM, max_position_embeddings=512, type_vocab_size=2,
        vocab_size=len(vocab), pad_token_id=0, _comment='tiny test model made by models/tiny/make_tiny_models.py',
    ))
    write_json(os.path.join(bert, 'tokenizer.json'), tokenizer_json(vocab))
    write_json(os.path.join(bert, 'tokenizer_config.json'), tokenizer_config(512))
    save(tiny_bert_graph(rng, len(vocab)), os.path.join(bert, 'onnx', 'model.onnx'))

    clip = os.path.join(args.out, 'tiny-clip')
    write_json(os.path.join(clip, 'config.json'), OrderedDict(
        architectures=['CLIPModel'], model_type='clip', projection_dim=DIM,
        text_config=OrderedDict(model_type='clip_text_model', hidden_size=DIM, vocab_size=len(vocab), max_position_embeddings=77, projection_dim=DIM),
        vision_config=OrderedDict(model_type='clip_vision_model', hidden_size=DIM, image_size=IMAGE, patch_size=POOL, projection_dim=DIM),
        _comment='tiny test model made by models/tiny/make_tiny_models.py',
    ))
    write_json(os.path.join(clip, 'tokenizer.json'), tokenizer_json(vocab))
    write_json(os.path.join(clip, 'tokenizer_config.json'), tokenizer_config(77))
    write_json(os.path.join(clip, 'preprocessor_config.json'), OrderedDict(
        feature_extractor_type='CLIPFeatureExtractor', do_resize=True, size=IMAGE, resample=3,
        do_center_crop=True, crop_size=IMAGE, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True,
    ))
    text, vision = tiny_clip_graphs(rng, vocab)
    save(text, os.path.join(clip, 'onnx', 'text_model.onnx'))
    save(vision, os.path.join(clip, 'onnx', 'vision_model.onnx'))

    total = 0
    for root, _, files in os.walk(args.out):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print(f'wrote {bert} and {clip} ({len(vocab)} vocab entries, {total / 1024:.0f} KiB in all)')


if __name__ == '__main__':
    main()
