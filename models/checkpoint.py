"""The checkpoint format: one safetensors file, weights plus JSON metadata.

Safetensors metadata (all strings): ``format`` = "attnviz-seq2seq", ``format_version``, and
``meta``, a JSON object::

    {"config": ModelConfig, "src_lang": "en", "tgt_lang": "zh",
     "src_vocab": [...], "tgt_vocab": [...],
     "src_tokenizer": {"kind": "unicode", "lowercase": true}, "tgt_tokenizer": {...},
     "training": {...}, "metrics": {...}, "name": "..."}

Weights are stored as float16 and loaded as float32. Loading never unpickles: safetensors is
parsed and checked before anything is built, and a ``.pt`` file (a dict with the keys
``state_dict`` and ``metadata`` laid out as above) is read only with
``torch.load(..., weights_only=True)``. Every problem raises ``CheckpointError``.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import ModelConfig
from .seq2seq import Seq2Seq
from .tokenize import Tokenizer
from .translator import Translator
from .vocab import Vocab

FORMAT = "attnviz-seq2seq"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_VOCAB = 200_000
MAX_TOKEN_CHARS = 200
MAX_DIM = 4096
_DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


class CheckpointError(ValueError):
    """The file is not a usable checkpoint; the message says why."""


def _defaults(meta: dict, version: int) -> dict:
    """Fill fields that older format versions lacked (version 1 is the first)."""
    meta.setdefault("training", {})
    meta.setdefault("metrics", {})
    meta.setdefault("name", "")
    return meta


def save_checkpoint(translator: Translator, path: str | Path) -> Path:
    """Write ``translator`` to ``path`` (a .safetensors file)."""
    meta = {
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
    }
    # The output layer shares the embedding matrix; store it once.
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in _own_state(translator.model).items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = st_save(state, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "meta": json.dumps(meta, ensure_ascii=False)})
    path.write_bytes(data)
    return path


def _own_state(model: Seq2Seq) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k != "decoder.out.weight"}


def load_checkpoint(source: str | Path | bytes, device: str | torch.device = "cpu", name: str = "") -> Translator:
    """Load a checkpoint from a path or from bytes (an upload). Raises CheckpointError."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"no such file: {path}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CheckpointError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
        name = name or path.stem
    else:
        data = bytes(source)
    if not data:
        raise CheckpointError("the file is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
    if data[:2] == b"PK" or data[:1] == b"\x80":
        tensors, meta = _read_pt(data)
    else:
        tensors, meta = _read_safetensors(data)
    translator = _build(tensors, meta)
    translator.meta.setdefault("name", "")
    translator.meta["name"] = translator.meta["name"] or name
    return translator.to(device)


def _read_safetensors(data: bytes) -> tuple[dict[str, torch.Tensor], dict]:
    if len(data) < 8:
        raise CheckpointError("not a checkpoint: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise CheckpointError(f"not a valid safetensors file: header declares {n} bytes but the file has {len(data)} (truncated or corrupt)")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError("not a valid safetensors file: the header is not JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError("not a valid safetensors file: the header is not a JSON object")
    body = len(data) - 8 - n
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or not isinstance(info.get("shape"), list) or not isinstance(info.get("data_offsets"), list):
            raise CheckpointError(f"tensor {key!r}: malformed header entry")
        dtype = info.get("dtype")
        if dtype not in _DTYPE_BYTES:
            raise CheckpointError(f"tensor {key!r} has dtype {dtype}; weights must be floating point")
        start, end = (info["data_offsets"] + [None, None])[:2]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= body):
            raise CheckpointError(f"tensor {key!r} lies outside the file (truncated or corrupt)")
        if not all(isinstance(d, int) and 0 <= d <= 10**8 for d in info["shape"]):
            raise CheckpointError(f"tensor {key!r} has an invalid shape {info['shape']}")
        if math.prod(info["shape"]) * _DTYPE_BYTES[dtype] != end - start:
            raise CheckpointError(f"tensor {key!r}: its shape does not match its byte size")
    md = header.get("__metadata__")
    if not isinstance(md, dict) or md.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint of this app: the safetensors metadata lacks format={FORMAT!r}")
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"could not read the safetensors data: {exc}") from None
    return tensors, _parse_meta(md.get("format_version"), md.get("meta"))


def _read_pt(data: bytes) -> tuple[dict[str, torch.Tensor], dict]:
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                total = sum(i.file_size for i in zf.infolist())
        except zipfile.BadZipFile:
            raise CheckpointError("not a valid .pt file: corrupt zip archive") from None
        if total > MAX_FILE_BYTES:
            raise CheckpointError(f"refused .pt file: its entries unpack to {total} bytes, over the {MAX_FILE_BYTES // 2**20} MB limit")
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"refused .pt file (only plain tensors are accepted, nothing is executed): {first}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict) or not isinstance(obj.get("metadata"), dict):
        raise CheckpointError("not a checkpoint of this app: a .pt file must hold {'state_dict': ..., 'metadata': ...}")
    md = obj["metadata"]
    if md.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint of this app: metadata lacks format={FORMAT!r}")
    return obj["state_dict"], _parse_meta(md.get("format_version"), md.get("meta"))


def _parse_meta(version: object, raw: object) -> dict:
    try:
        v = int(str(version))
    except ValueError:
        raise CheckpointError(f"invalid format version {version!r}") from None
    if not 1 <= v <= FORMAT_VERSION:
        raise CheckpointError(f"unknown format version {v}: this app reads versions 1 to {FORMAT_VERSION}")
    if not isinstance(raw, str):
        raise CheckpointError("metadata field 'meta' is missing")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise CheckpointError("metadata field 'meta' is not valid JSON") from None
    if not isinstance(meta, dict):
        raise CheckpointError("metadata field 'meta' must be a JSON object")
    return _defaults(meta, v)


def _vocab(meta: dict, side: str) -> Vocab:
    itos = meta.get(f"{side}_vocab")
    if not isinstance(itos, list) or not all(isinstance(t, str) and len(t) <= MAX_TOKEN_CHARS for t in itos):
        raise CheckpointError(f"{side}_vocab must be a list of strings (each at most {MAX_TOKEN_CHARS} characters)")
    if len(itos) > MAX_VOCAB:
        raise CheckpointError(f"{side}_vocab has {len(itos)} entries; at most {MAX_VOCAB} are allowed")
    tok = meta.get(f"{side}_tokenizer", {})
    if not isinstance(tok, dict):
        raise CheckpointError(f"{side}_tokenizer must be a JSON object")
    try:
        return Vocab(tuple(itos), lowercase=bool(tok.get("lowercase", False)))
    except ValueError as exc:
        raise CheckpointError(f"{side}_vocab: {exc}") from None


def _build(tensors: dict, meta: dict) -> Translator:
    src_vocab, tgt_vocab = _vocab(meta, "src"), _vocab(meta, "tgt")
    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        raise CheckpointError("metadata has no model config")
    try:
        config = ModelConfig.from_json(cfg)
        tokenizers = [Tokenizer.from_json(meta.get(f"{s}_tokenizer", {})) for s in ("src", "tgt")]
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"invalid model config: {exc}") from None
    if max(config.emb_dim, config.hidden) > MAX_DIM:
        raise CheckpointError(f"model dimensions over {MAX_DIM} are not accepted")
    if (config.src_vocab_size, config.tgt_vocab_size) != (len(src_vocab), len(tgt_vocab)):
        raise CheckpointError(
            f"vocabulary size mismatch: config says {config.src_vocab_size}/{config.tgt_vocab_size}, "
            f"vocabularies have {len(src_vocab)}/{len(tgt_vocab)}"
        )
    langs = [meta.get("src_lang"), meta.get("tgt_lang")]
    if not all(isinstance(x, str) and 0 < len(x) <= 20 for x in langs):
        raise CheckpointError("metadata needs src_lang and tgt_lang (short strings)")
    with torch.device("meta"):
        expected = {k: v.shape for k, v in _own_state(Seq2Seq(config)).items()}
    missing, unexpected = expected.keys() - tensors.keys(), tensors.keys() - expected.keys()
    if missing or unexpected:
        raise CheckpointError(f"weights do not match the config: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    for k, shape in expected.items():
        t = tensors[k]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise CheckpointError(f"tensor {k!r} must hold floating-point weights")
        if t.shape != shape:
            raise CheckpointError(f"tensor {k!r} has shape {tuple(t.shape)}, the config needs {tuple(shape)}")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"tensor {k!r} contains NaN or infinite values")
    model = Seq2Seq(config)
    model.load_state_dict({k: tensors[k].float() for k in expected} | {"decoder.out.weight": tensors["decoder.embed.weight"].float()}, strict=True)
    model.eval()
    return Translator(
        model, src_vocab, tgt_vocab, tokenizers[0], tokenizers[1], langs[0], langs[1],
        meta={"training": meta["training"], "metrics": meta["metrics"], "name": meta.get("name", "")},
    )
