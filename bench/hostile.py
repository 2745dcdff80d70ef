"""Hostile and broken checkpoint files, made by mutating a valid tiny checkpoint or from scratch.

Shared by the loader tests (test_hostile_checkpoints.py) and the app tests, which upload the same
files. ``HOSTILE`` names the cases; ``hostile_file(case, tmp)`` builds one. The pickle cases
would create ``marker_path(tmp)`` if anything unpickled them; others would allocate gigabytes
(``Allocates``, stride-0 tensors, ``over_budget``) if anything read them as they ask.
"""

from __future__ import annotations

import collections
import io
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from bench.tiny import make_translator
from models.checkpoint import FORMAT, FORMAT_VERSION, save_checkpoint
from models.config import ModelConfig
from models.nets import build_model
from models.vocab import SPECIALS

Case = tuple[bytes, str]


def marker_path(tmp: Path) -> Path:
    return tmp / "unpickled-code-ran.txt"


class RunsCode:
    """Unpickling this calls ``open(marker, "w")``: the file appearing proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class Allocates:
    """Unpickling this calls ``make(*args)``, e.g. ``bytearray(8 GiB)``: allowed by
    ``torch.load(weights_only=True)``, which lets bytearray and Counter through."""

    def __init__(self, make: Callable, *args: object) -> None:
        self.make, self.args = make, args

    def __reduce__(self):
        return (self.make, self.args)


def stride0_pt(vocab: int = 200_000, dim: int = 1024) -> bytes:
    """A .pt of a few KB whose tensors are stride-0 views of one number, (vocab, dim) each:
    a reader that materialises them makes vocab × dim floats per tensor."""
    one = torch.zeros(1)
    state = {"encoder.embed.weight": one.expand(vocab, dim), "decoder.embed.weight": one.expand(vocab, dim)}
    meta = {"config": {"src_vocab_size": vocab, "tgt_vocab_size": vocab, "emb_dim": dim, "hidden": dim}}
    return torch_zip({"state_dict": state, "metadata": {"format": FORMAT, "format_version": "1", "meta": json.dumps(meta)}})


def zero_checkpoint(config: ModelConfig) -> bytes:
    """A VALID checkpoint of ``config`` with zero float16 weights (no memory for the weights
    beyond their bytes)."""
    with torch.device("meta"):
        model = build_model(config)
        shapes = {k: v.shape for k, v in model.state_dict().items() if k not in model.tied}
    words = list(SPECIALS) + [f"w{i}" for i in range(max(config.src_vocab_size, config.tgt_vocab_size) - len(SPECIALS))]
    meta = {"config": config.to_json(), "src_lang": "en", "tgt_lang": "zh", "src_vocab": words[: config.src_vocab_size],
            "tgt_vocab": words[: config.tgt_vocab_size], "src_tokenizer": {"kind": "unicode", "lowercase": True},
            "tgt_tokenizer": {"kind": "unicode"}, "name": "huge"}
    tensors = {k: torch.zeros(shape, dtype=torch.float16) for k, shape in shapes.items()}
    return st_save(tensors, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(meta)})


def over_budget() -> bytes:
    """A valid GRU checkpoint of 200k words on each side, embedding 4, hidden 2,560 (74 MB on
    disk) whose decoding at the longest input takes more than the default budget
    (models.budget: about 575 MB, most of it a batch's logits over 200k words)."""
    return zero_checkpoint(ModelConfig(200_000, 200_000, scorer="dot", emb_dim=4, hidden=2560))


def many_heads() -> bytes:
    """A valid Transformer checkpoint of 1,000 words, 2 layers of 64 heads: 7 MB on disk, under
    the app's upload limit (.streamlit/config.toml), but its attention maps (every layer, head,
    query and key, for every beam) would take about 945 MB."""
    return zero_checkpoint(ModelConfig(1000, 1000, family="transformer", emb_dim=256, hidden=256, layers=2, heads=64, ff_dim=512))


def valid_checkpoint(tmp: Path) -> bytes:
    return save_checkpoint(make_translator(), tmp / "valid.safetensors").read_bytes()


def split(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file -> (header dict, tensor bytes)."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def with_meta(data: bytes, change: Callable[[dict], None]) -> bytes:
    """Re-save ``data`` after ``change`` edits its parsed 'meta' object in place."""
    header, body = split(data)
    meta = json.loads(header["__metadata__"]["meta"])
    change(meta)
    header["__metadata__"]["meta"] = json.dumps(meta)
    return join(header, body)


def with_metadata(data: bytes, **fields: str) -> bytes:
    header, body = split(data)
    header["__metadata__"] |= fields
    return join(header, body)


def with_tensors(data: bytes, change: Callable[[dict[str, torch.Tensor]], None]) -> bytes:
    """Re-save through safetensors after ``change`` edits the tensors: a valid container, bad content."""
    tensors = st_load(data)
    change(tensors)
    return st_save(tensors, split(data)[0]["__metadata__"])


def with_header_entry(data: bytes, change: Callable[[dict], None]) -> bytes:
    """Edit the header entry of the first tensor (dtype, shape, offsets) without touching the bytes."""
    header, body = split(data)
    change(header[next(k for k in header if k != "__metadata__")])
    return join(header, body)


def torch_zip(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def as_pt(data: bytes) -> bytes:
    """The same checkpoint as a torch.save archive in the layout the loader accepts."""
    return torch_zip({"state_dict": st_load(data), "metadata": split(data)[0]["__metadata__"]})


def zip_declaring(size: int) -> bytes:
    """A small zip whose one entry declares ``size`` bytes uncompressed (local and central headers)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data/0", b"\0" * 64)
    raw = bytearray(buf.getvalue())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.index(sig) + offset
        raw[at : at + 4] = struct.pack("<I", size)
    return bytes(raw)


def zip_of_many_entries(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(n):
            zf.writestr(f"archive/data/{i}", b"")
    return buf.getvalue()


def nonfinite(tensors: dict[str, torch.Tensor]) -> None:
    name = next(iter(tensors))
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("inf")


def _bigger_than_file(good: bytes) -> bytes:
    body = split(good)[1]
    return with_header_entry(good, lambda e: e.update(shape=[len(body)], data_offsets=[0, 2 * len(body)]))


def _first_tensor(good: bytes) -> str:
    return next(k for k in split(good)[0] if k != "__metadata__")


_SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]

# case -> (make(valid checkpoint bytes, folder for the marker) -> hostile bytes, text the refusal contains)
HOSTILE: dict[str, tuple[Callable[[bytes, Path], bytes], str]] = {
    "pickle that runs code": (lambda g, tmp: pickle.dumps(RunsCode(marker_path(tmp))), "never loaded"),
    "torch .pt whose pickle runs code": (lambda g, tmp: torch_zip({"state_dict": {}, "metadata": RunsCode(marker_path(tmp))}), "never loaded"),
    "the valid checkpoint as a .pt": (lambda g, tmp: as_pt(g), ".pt files are not accepted"),
    ".pt whose pickle calls bytearray(8 GiB)": (lambda g, tmp: torch_zip({"state_dict": {}, "metadata": Allocates(bytearray, 2**33)}), "never loaded"),
    ".pt whose pickle counts a bytearray(512 MiB)": (
        lambda g, tmp: torch_zip({"state_dict": {}, "metadata": Allocates(collections.Counter, Allocates(bytearray, 2**29))}), "never loaded",
    ),
    ".pt of stride-0 tensors declaring 200k x 1,024": (lambda g, tmp: stride0_pt(), "never loaded"),
    ".pt with meta-device tensors": (lambda g, tmp: torch_zip({"state_dict": {"w": torch.empty(10**6, 10**3, device="meta")}, "metadata": {}}), "never loaded"),
    ".pt with sparse tensors": (lambda g, tmp: torch_zip({"state_dict": {"w": torch.eye(3).to_sparse()}, "metadata": {}}), "never loaded"),
    ".pt zip with a 4 GB entry": (lambda g, tmp: zip_declaring(2**32 - 1), "never loaded"),
    ".pt zip with 100,000 entries": (lambda g, tmp: zip_of_many_entries(100_000), "never loaded"),
    "valid safetensors of 200k words, embedding 4, hidden 2,560": (lambda g, tmp: over_budget(), "over the 512 MB budget per model"),
    "valid 7 MB Transformer of 2 layers of 64 heads": (lambda g, tmp: many_heads(), "over the 512 MB budget per model"),
    "config declaring 200k words and 4,096 dimensions": (
        lambda g, tmp: with_meta(g, lambda m: m["config"].update(src_vocab_size=200_000, tgt_vocab_size=200_000, emb_dim=4096, hidden=4096)),
        "over the 512 MB budget per model",
    ),
    "config.hidden a string": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(hidden="16")), "config.hidden must be an integer, not '16'"),
    "config.dropout a bool": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(dropout=True)), "config.dropout must be a number, not True"),
    "config.scorer a number": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(scorer=7)), "config.scorer must be a string, not 7"),
    "more weights than the config needs": (lambda g, tmp: with_tensors(g, lambda t: t.update(extra=torch.zeros(1000))), "more than the"),
    "a target token holding ESC": (lambda g, tmp: with_meta(g, lambda m: m["tgt_vocab"].append("red\x1b[31m")), "control character"),
    "zero bytes": (lambda g, tmp: b"", "empty"),
    "truncated in the header": (lambda g, tmp: g[:100], "truncated"),
    "truncated in the weights": (lambda g, tmp: g[: len(g) - 100], "truncated"),
    "header length of 2**62": (lambda g, tmp: struct.pack("<Q", 2**62) + g[8:], "header, over"),
    "header not JSON": (lambda g, tmp: struct.pack("<Q", 12) + b"{not json!!}" + split(g)[1], "not valid JSON"),
    "header nested 100,000 deep": (lambda g, tmp: struct.pack("<Q", 100_000) + b"[" * 100_000, "nested too deeply"),
    "tensor larger than the file": (lambda g, tmp: _bigger_than_file(g), "lies outside the file"),
    "integer weights (I16)": (lambda g, tmp: with_header_entry(g, lambda e: e.update(dtype="I16")), "must be floating point"),
    "non-finite weights": (lambda g, tmp: with_tensors(g, nonfinite), "NaN or infinite"),
    "weights missing": (lambda g, tmp: with_tensors(g, lambda t: t.pop(_first_tensor(g))), "missing"),
    "weights shaped unlike the config": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(emb_dim=24)), "the config needs"),
    "vocabulary size mismatch": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(src_vocab_size=999)), "vocabulary size mismatch"),
    "meta not JSON": (lambda g, tmp: with_metadata(g, meta="{vocab: [oops"), "not valid JSON"),
    "meta a list": (lambda g, tmp: with_metadata(g, meta="[1, 2]"), "must be a JSON object"),
    "vocab a dict": (lambda g, tmp: with_meta(g, lambda m: m.update(src_vocab={"a": 1})), "src_vocab must be a list"),
    "config a list": (lambda g, tmp: with_meta(g, lambda m: m.update(config=[16, 16])), "'config' must be a JSON object"),
    "training a string": (lambda g, tmp: with_meta(g, lambda m: m.update(training="x")), "'training' must be a JSON object"),
    "decoding limit of 1e9": (lambda g, tmp: with_meta(g, lambda m: m["config"].update(max_len_ratio=1e9)), "max_len_ratio"),
    "beam ranking alpha of 1e9": (lambda g, tmp: with_meta(g, lambda m: m.update(decoding={"length_alpha": 1e9})), "'decoding' must map"),
    "beam ranking alpha a string": (lambda g, tmp: with_meta(g, lambda m: m.update(decoding={"length_alpha": "1"})), "'decoding' must map"),
    "beam ranking with an unknown key": (lambda g, tmp: with_meta(g, lambda m: m.update(decoding={"temperature": 1})), "'decoding' must map"),
    "vocabulary of 250,000 words": (lambda g, tmp: with_meta(g, lambda m: m.update(src_vocab=_SPECIALS + [f"w{i}" for i in range(250_000)])), "at most 200,000"),
    "vocabulary of 1,000,000 words": (lambda g, tmp: with_meta(g, lambda m: m.update(src_vocab=_SPECIALS + ["w"] * 1_000_000)), "values"),
    "format version 99": (lambda g, tmp: with_metadata(g, format_version="99"), "unknown format version 99"),
    "format version a 100,000-character string": (lambda g, tmp: with_metadata(g, format_version="9" * 100_000), "invalid format version"),
    "another program's safetensors": (lambda g, tmp: with_metadata(g, format="someone-else"), f"lacks format={FORMAT!r}"),
    "src_lang missing": (lambda g, tmp: with_meta(g, lambda m: m.pop("src_lang")), "src_lang"),
}


def hostile_file(case: str, tmp: Path) -> tuple[bytes, str]:
    """(bytes of the hostile file ``case``, text its refusal must contain); ``tmp`` holds the valid original."""
    make, reason = HOSTILE[case]
    good = tmp / "valid.safetensors"
    return make(good.read_bytes() if good.exists() else valid_checkpoint(tmp), tmp), reason


# Markdown and HTML that would fetch from, or link to, a foreign server if a page interpreted it.
EVIL = ["![x](http://evil.example/a.png)", "[click](http://evil.example)", "<img src=http://evil.example/c.png>"]
EVIL_LANGS = ("![](//evil.example)", "[c](http://evil.ex)")  # languages are at most 20 characters
EVIL_FILE_NAME = "![x](evil.example-f.png) [click](www.evil.example).safetensors"


def planted_checkpoint(tmp: Path) -> bytes:
    """A valid checkpoint with ``EVIL`` in every string field: name, training values and keys,
    metric names, languages, and target tokens that its output layer favours (so every
    translation writes ``EVIL[0]``, with the others among each step's alternatives)."""
    from models.tokenize import Tokenizer, tokenizer_for
    from models.translator import Translator
    from models.vocab import Vocab

    src_tok, tgt_tok = tokenizer_for("en"), Tokenizer()
    sv = Vocab.build((src_tok.tokenize(s) for s in ["I love you .", "we like tea ."]), lowercase=True)
    tv = Vocab(tuple(Vocab.build(tgt_tok.tokenize(s) for s in ["我爱你。"]).itos) + tuple(EVIL))
    torch.manual_seed(0)
    model = build_model(ModelConfig(len(sv), len(tv), scorer="dot", emb_dim=16, hidden=16, dropout=0.0)).eval()
    with torch.no_grad():
        for rank, token in enumerate(EVIL):
            model.decoder.out.bias[tv.id(token)] = 12.0 - rank
    meta = {
        "name": EVIL[0],
        "training": {"corpus": EVIL[1], EVIL[2]: EVIL[0], "history": [{"epoch": 1, "train_loss": 1.0, EVIL[1]: 2.0}]},
        "metrics": {"test": {"bleu": 1.0}, EVIL[1]: {"bleu": 2.0}},
    }
    translator = Translator(model, sv, tv, src_tok, tgt_tok, *EVIL_LANGS, meta=meta)
    return save_checkpoint(translator, tmp / "planted.safetensors").read_bytes()


def planted_refusals(good: bytes) -> dict[str, bytes]:
    """Files whose refusal messages quote ``EVIL``: format_version, config.scorer, a dtype."""
    return {
        "format version": with_metadata(good, format_version=EVIL[0]),
        "scorer": with_meta(good, lambda m: m["config"].update(scorer=EVIL[1])),
        "dtype": with_header_entry(good, lambda e: e.update(dtype=EVIL[2])),
    }
