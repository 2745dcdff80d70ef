"""The checkpoint format: one safetensors file, weights plus JSON metadata.

Safetensors metadata (all strings): ``format`` = "attnviz-seq2seq", ``format_version``, and
``meta``, a JSON object::

    {"config": ModelConfig, "src_lang": "en", "tgt_lang": "zh",
     "src_vocab": [...], "tgt_vocab": [...],
     "src_tokenizer": {"kind": "unicode", "lowercase": true}, "tgt_tokenizer": {...},
     "training": {...}, "metrics": {...}, "name": "...",
     "decoding": {"length_alpha": 0.6, "coverage_beta": 0.0}}   # the model's beam ranking (optional)

Weights are stored as float16 and loaded as float32. Loading never unpickles: only safetensors
is read, parsed and checked before anything is built; a ``.pt`` file (a torch.save zip archive or
a pickle) is refused from its first bytes, without calling ``torch.load``. Every size is bounded
before it is allocated: the file, the header, the JSON values in it, each configuration field
(its type, range and dimensions), and what the model will take in memory to load and decode
(``models.budget``: weights, the tables derived from them and the largest step, from the
configuration alone, against ``ATTNVIZ_MODEL_BUDGET_MB``). So hostile files are refused quickly
with flat memory. Every problem raises ``CheckpointError``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import struct
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from . import budget
from .atomic import atomic_write_bytes
from .config import ModelConfig
from .nets import build_model
from .nets.base import Family
from .nets.packed import forget
from .tokenize import Tokenizer
from .translator import MAX_RANKING, RANKING_DEFAULTS, Translator
from .vocab import MAX_TOKEN_CHARS, Vocab

FORMAT = "attnviz-seq2seq"
FORMAT_VERSION = 2  # 2: config.family names the network (version 1 files are GRU models)
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024 * 1024  # metadata: config, vocabularies, training summary (~100 KB in practice)
MAX_VOCAB = 200_000
MAX_JSON_VALUES = 2 * MAX_VOCAB + 50_000  # values in the metadata JSON: two vocabularies plus the rest
MAX_NAME_CHARS = 200
MAX_LANG_CHARS = 20
MAX_DIM = 4096
MAX_LAYERS = 32  # transformer: encoder and decoder layers each (the feed-forward size is bounded by 4 * MAX_DIM)
MAX_SHOWN_CHARS = 60  # of a value from the file quoted in an error message
_CONFIG_RANGES = {"dropout": (0.0, 1.0), "max_len_ratio": (0.1, 10.0)}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (category Cc)
_DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


class CheckpointError(ValueError):
    """The file is not a usable checkpoint; the message says why."""


def _defaults(meta: dict, version: int) -> dict:
    """Fill fields that older format versions lacked. Version 1 has no ``config.family``:
    ModelConfig's default ("rnn", the only family then) fills it."""
    meta.setdefault("training", {})
    meta.setdefault("metrics", {})
    meta.setdefault("name", "")
    return meta


def _meta(translator: Translator) -> dict:
    """The metadata a checkpoint of ``translator`` holds."""
    return {
        "config": translator.model.config.to_json(),
        "src_lang": translator.src_lang,
        "tgt_lang": translator.tgt_lang,
        "src_vocab": list(translator.src_vocab.itos),
        "tgt_vocab": list(translator.tgt_vocab.itos),
        "src_tokenizer": translator.src_tokenizer.to_json(),
        "tgt_tokenizer": translator.tgt_tokenizer.to_json(),
        "training": translator.meta.get("training", {}),
        "metrics": translator.meta.get("metrics", {}),
        "name": translator.meta.get("name", ""),
        "decoding": translator.ranking,
    }


STORED_DTYPE = torch.float16  # the precision of the weights in a checkpoint


@torch.no_grad()
def round_as_stored(model: nn.Module) -> None:
    """Round ``model``'s floating-point weights in place to what a checkpoint keeps of them
    (``STORED_DTYPE``), so that figures measured on the model are those of its file."""
    for t in model.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.to(STORED_DTYPE))
    forget(model)  # what was made from the weights before


def save_checkpoint(translator: Translator, path: str | Path) -> Path:
    """Write ``translator`` to ``path`` (a .safetensors file)."""
    # The output layer shares the embedding matrix; store it once.
    state = {k: v.detach().to("cpu", STORED_DTYPE).contiguous() for k, v in _own_state(translator.model).items()}
    data = st_save(state, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(_meta(translator), ensure_ascii=False)})
    return atomic_write_bytes(path, data)  # temp file beside it, fsync, os.replace: never half-written


def check_savable(translator: Translator) -> None:
    """Raise CheckpointError when a checkpoint of ``translator`` would be refused on loading (its
    configuration, vocabularies, languages or name): the trainer asks before its first epoch."""
    meta = _parse_meta(FORMAT_VERSION, json.dumps(_meta(translator), ensure_ascii=False))
    _check_config(meta["config"])
    _checked_meta(meta)


def _own_state(model: Family) -> dict[str, torch.Tensor]:
    """The state dict without tied copies (``Family.tied``): what a checkpoint stores."""
    return {k: v for k, v in model.state_dict().items() if k not in model.tied}


def load_checkpoint(source: str | Path | bytes, device: str | torch.device = "cpu", name: str = "") -> Translator:
    """Load a checkpoint from a path or from bytes (an upload). Raises CheckpointError."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            raise CheckpointError(f"{path} is a folder: give a .safetensors file in it")
        if not path.is_file():
            raise CheckpointError(f"no such file: {path}")
        _check_size(path.stat().st_size)
        data = path.read_bytes()
        name = name or path.stem
    else:
        data = bytes(source)
    _check_size(len(data))
    _refuse_pickles(data)
    tensors, meta = _read_safetensors(data)
    translator = _build(tensors, meta)
    translator.meta["name"] = translator.meta["name"] or name
    return translator.to(device)


def _check_size(n: int) -> None:
    if n == 0:
        raise CheckpointError("the file is empty (0 bytes)")
    if n > MAX_FILE_BYTES:
        raise CheckpointError(f"the file is {_size(n)}, larger than the {_size(MAX_FILE_BYTES)} limit")


def _refuse_pickles(data: bytes) -> None:
    """A .pt file (a torch.save zip archive, or a bare pickle) is refused from its first bytes:
    reading one means unpickling, which can allocate anything and run code."""
    if data[8:9] != b"{" and (data[:2] == b"PK" or data[:1] == b"\x80"):  # a safetensors header is JSON after 8 bytes
        kind = "a torch .pt file (zip archive)" if data[:2] == b"PK" else "a pickle (a legacy .pt file)"
        raise CheckpointError(
            f"this is {kind}: .pt files are not accepted, because reading one means unpickling it, so it was never loaded "
            "and nothing was executed; only .safetensors checkpoints written by `python -m models train` are read"
        )


def _shown(value: object) -> str:
    """``value`` quoted for an error message: repr, cut to ``MAX_SHOWN_CHARS``."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def _parse_json(text: str, what: str) -> object:
    """``json.loads`` that first bounds how many values the text can hold.

    Every value after the first is preceded by a comma or opens an array or object, so the
    count below is an upper bound found without building anything: a header of millions of
    entries is refused before it can take memory.
    """
    bound = text.count(",") + text.count("[") + text.count("{")
    if bound > MAX_JSON_VALUES:
        raise CheckpointError(
            f"{what} holds about {bound:,} values, more than a checkpoint can need (at most {MAX_VOCAB:,} words per vocabulary)"
        )
    try:
        return json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{what} is nested too deeply") from None
    except ValueError:
        raise CheckpointError(f"{what} is not valid JSON") from None


def _read_safetensors(data: bytes) -> tuple[dict[str, torch.Tensor], dict]:
    if len(data) < 8:
        raise CheckpointError("not a checkpoint: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES and data[8:9] != b"{":  # a safetensors header is a JSON object after its 8-byte length
        raise CheckpointError(
            "the file has no safetensors header: it is another kind of file (renamed?) or a damaged download"
        )
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"not a usable safetensors file: its first 8 bytes declare a {n:,}-byte header, over the {_size(MAX_HEADER_BYTES)} allowed"
        )
    if 8 + n > len(data):
        raise CheckpointError(f"truncated safetensors file: the header needs {n:,} bytes but only {len(data) - 8:,} follow")
    try:
        text = data[8 : 8 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("not a valid safetensors file: the header is not UTF-8 text") from None
    header = _parse_json(text, "the safetensors header")
    if not isinstance(header, dict):
        raise CheckpointError("not a valid safetensors file: the header is not a JSON object")
    body = len(data) - 8 - n
    elements = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or not isinstance(info.get("shape"), list) or not isinstance(info.get("data_offsets"), list):
            raise CheckpointError(f"tensor {_shown(key)}: malformed header entry")
        dtype = info.get("dtype")
        if dtype not in _DTYPE_BYTES:
            raise CheckpointError(f"tensor {_shown(key)} has dtype {_shown(dtype)}; weights must be floating point")
        start, end = (info["data_offsets"] + [None, None])[:2]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= body):
            raise CheckpointError(
                f"tensor {_shown(key)} lies outside the file (truncated or corrupt): it needs bytes {_shown(start)}..{_shown(end)} of {body}"
            )
        if not all(isinstance(d, int) and 0 <= d <= 10**8 for d in info["shape"]):
            raise CheckpointError(f"tensor {_shown(key)} has an invalid shape {_shown(info['shape'])}")
        if math.prod(info["shape"]) * _DTYPE_BYTES[dtype] != end - start:
            raise CheckpointError(f"tensor {_shown(key)}: its shape does not match its byte size")
        elements += math.prod(info["shape"])
    md = header.get("__metadata__")
    if not isinstance(md, dict) or md.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint of this app: the safetensors metadata lacks format={FORMAT!r}")
    meta = _parse_meta(md.get("format_version"), md.get("meta"))
    config = _check_config(meta.get("config"))
    needed = budget.estimate(config).weights // budget.FLOAT
    if elements > needed:
        raise CheckpointError(f"the file holds {elements:,} weights, more than the {needed:,} its configuration needs")
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"could not read the safetensors data: {str(exc)[:200]}") from None
    return tensors, meta


def _check_config(cfg: object) -> ModelConfig:
    """The model configuration, checked before anything is read or built: every field has its
    declared type (an integer is not a string or a bool; a number is finite), dimensions and
    ranges are bounded, and the model fits the memory budget (``models.budget``)."""
    if not isinstance(cfg, dict):
        raise CheckpointError("metadata field 'config' must be a JSON object (the model configuration)")
    kinds = {"int": (int, "an integer"), "float": ((int, float), "a number"), "str": (str, "a string")}
    for f in dataclasses.fields(ModelConfig):
        if f.name not in cfg:
            continue
        value = cfg[f.name]
        types, what = kinds.get(str(f.type), (object, ""))
        if isinstance(value, bool) or not isinstance(value, types) or (isinstance(value, float) and not math.isfinite(value)):
            raise CheckpointError(f"config.{f.name} must be {what}, not {_shown(value)}")
    for name in ("emb_dim", "hidden"):
        if cfg.get(name, 0) > MAX_DIM:
            raise CheckpointError(f"config.{name} is {cfg[name]:,}; model dimensions over {MAX_DIM} are not accepted")
    for name in ("src_vocab_size", "tgt_vocab_size"):
        if cfg.get(name, 0) > MAX_VOCAB:
            raise CheckpointError(f"config.{name} is {cfg[name]:,}; at most {MAX_VOCAB:,} words are allowed")
    for name, (lo, hi) in _CONFIG_RANGES.items():
        if name in cfg and not lo <= cfg[name] <= hi:
            raise CheckpointError(f"invalid model config: {name} must be a number from {lo} to {hi}, not {_shown(cfg[name])}")
    try:
        config = ModelConfig.from_json(cfg)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"invalid model config: {str(exc)[:300]}") from None
    reason = budget.over_budget(config)
    if reason:
        raise CheckpointError(f"refused before loading: {reason}")
    return config


def _parse_meta(version: object, raw: object) -> dict:
    text = str(version)
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        raise CheckpointError(f"invalid format version {_shown(version)}")
    v = int(text)
    if not 1 <= v <= FORMAT_VERSION:
        raise CheckpointError(f"unknown format version {v}: this app reads versions 1 to {FORMAT_VERSION}")
    if not isinstance(raw, str):
        raise CheckpointError("metadata field 'meta' is missing")
    meta = _parse_json(raw, "metadata field 'meta'")
    if not isinstance(meta, dict):
        raise CheckpointError("metadata field 'meta' must be a JSON object")
    meta = _defaults(meta, v)
    if (
        not isinstance(meta["training"], dict)
        or not isinstance(meta["metrics"], dict)
        or not all(isinstance(m, dict) for m in meta["metrics"].values())
    ):
        raise CheckpointError("metadata: 'training' must be a JSON object and 'metrics' an object of objects")
    if not isinstance(meta["name"], str) or len(meta["name"]) > MAX_NAME_CHARS:
        raise CheckpointError(f"metadata: 'name' must be a string of at most {MAX_NAME_CHARS} characters")
    decoding = meta.get("decoding", {})
    if (
        not isinstance(decoding, dict)
        or set(decoding) - set(RANKING_DEFAULTS)
        or not all(type(v) in (int, float) and 0 <= v <= MAX_RANKING for v in decoding.values())
    ):
        raise CheckpointError(f"metadata: 'decoding' must map length_alpha and coverage_beta to numbers from 0 to {MAX_RANKING}")
    return meta


def _vocab(meta: dict, side: str) -> Vocab:
    itos = meta.get(f"{side}_vocab")
    if not isinstance(itos, list) or not all(isinstance(t, str) and len(t) <= MAX_TOKEN_CHARS for t in itos):
        raise CheckpointError(f"{side}_vocab must be a list of strings (each at most {MAX_TOKEN_CHARS} characters)")
    if len(itos) > MAX_VOCAB:
        raise CheckpointError(f"{side}_vocab has {len(itos):,} entries; at most {MAX_VOCAB:,} are allowed")
    # The tokeniser drops control characters from text, so no model can read or write one;
    # a token holding one is damage, or an attempt to reach a terminal or an exported file.
    if _CONTROL.search("".join(itos)):
        bad = next(i for i, t in enumerate(itos) if _CONTROL.search(t))
        raise CheckpointError(f"{side}_vocab entry {bad:,} holds a control character: tokens are printable text")
    tok = meta.get(f"{side}_tokenizer", {})
    if not isinstance(tok, dict):
        raise CheckpointError(f"{side}_tokenizer must be a JSON object")
    try:
        return Vocab(tuple(itos), lowercase=bool(tok.get("lowercase", False)))
    except ValueError as exc:
        raise CheckpointError(f"{side}_vocab: {exc}") from None


def _checked_meta(meta: dict) -> tuple[Vocab, Vocab, ModelConfig, list[Tokenizer], list[str]]:
    """(source and target vocabularies, config, tokenisers, languages) of checked metadata."""
    src_vocab, tgt_vocab = _vocab(meta, "src"), _vocab(meta, "tgt")
    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        raise CheckpointError("metadata field 'config' must be a JSON object (the model configuration)")
    try:
        config = ModelConfig.from_json(cfg)
        tokenizers = [Tokenizer.from_json(meta.get(f"{s}_tokenizer", {})) for s in ("src", "tgt")]
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"invalid model config: {exc}") from None
    if max(config.emb_dim, config.hidden) > MAX_DIM:
        raise CheckpointError(f"model dimensions over {MAX_DIM} are not accepted")
    if config.family == "transformer" and (config.layers > MAX_LAYERS or config.ff_dim > 4 * MAX_DIM):
        raise CheckpointError(f"transformers of over {MAX_LAYERS} layers or a feed-forward size over {4 * MAX_DIM} are not accepted")
    for field, (lo, hi) in _CONFIG_RANGES.items():
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:  # NaN fails too
            raise CheckpointError(f"invalid model config: {field} must be a number from {lo} to {hi}, not {value!r}")
    if (config.src_vocab_size, config.tgt_vocab_size) != (len(src_vocab), len(tgt_vocab)):
        raise CheckpointError(
            f"vocabulary size mismatch: config says {config.src_vocab_size}/{config.tgt_vocab_size}, "
            f"vocabularies have {len(src_vocab)}/{len(tgt_vocab)}"
        )
    langs = [meta.get("src_lang"), meta.get("tgt_lang")]
    if not all(isinstance(x, str) and 0 < len(x) <= MAX_LANG_CHARS for x in langs):
        raise CheckpointError(f"metadata needs src_lang and tgt_lang (strings of 1 to {MAX_LANG_CHARS} characters)")
    return src_vocab, tgt_vocab, config, tokenizers, langs


def _build(tensors: dict, meta: dict) -> Translator:
    src_vocab, tgt_vocab, config, tokenizers, langs = _checked_meta(meta)
    with torch.device("meta"):
        expected = {k: v.shape for k, v in _own_state(build_model(config)).items()}
    missing, unexpected = expected.keys() - tensors.keys(), tensors.keys() - expected.keys()
    if missing or unexpected:
        raise CheckpointError(
            f"weights do not match the config: missing {sorted(missing)[:5]}, unexpected {sorted(map(str, unexpected))[:5]}"
        )
    for k, shape in expected.items():
        t = tensors[k]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise CheckpointError(f"tensor {k!r} must hold floating-point weights")
        if t.shape != shape:
            raise CheckpointError(f"tensor {k!r} has shape {tuple(t.shape)}, the config needs {tuple(shape)}")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"tensor {k!r} contains NaN or infinite values")
    # Built on the meta device, then given the checkpoint's weights (assign): the float32 weights
    # are made once, not also a random set to overwrite, and each float16 tensor is let go once
    # converted. Uploads load inside a session: less memory at the peak, and half the time.
    with torch.device("meta"):
        model = build_model(config)
    weights = {k: tensors.pop(k).float() for k in expected}
    model.load_state_dict(weights | {k: weights[v] for k, v in model.tied.items()}, strict=True, assign=True)
    model.tie()  # assign gave each tied key its own Parameter
    model.eval()
    return Translator(
        model,
        src_vocab,
        tgt_vocab,
        tokenizers[0],
        tokenizers[1],
        langs[0],
        langs[1],
        meta={"training": meta["training"], "metrics": meta["metrics"], "name": meta.get("name", ""), "decoding": meta.get("decoding", {})},
    )
