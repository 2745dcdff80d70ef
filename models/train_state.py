"""The training-state file that ``--resume`` continues from: safetensors, never pickle.

Written (atomically, ``models.atomic``) after every epoch, beside the checkpoint. Tensors go into
safetensors under prefixes: ``model.*`` (live weights), ``best.*`` (the best epoch's weights),
``ema.*`` (the moving average, when on), ``opt.<param>.<name>`` (the optimiser's per-parameter
tensors: Adam's step, exp_avg, exp_avg_sq) and ``rng.*`` (torch's CPU and CUDA generator states
and the word-dropout generator). Everything else is JSON in the metadata field ``state``: the
epoch, step count, seconds so far, history, best loss and epoch, the optimiser's param groups and non-tensor
state, the scheduler's state dict, Python's ``random`` state, both vocabularies and the model
configuration. torch.save/torch.load (pickle) is never used: loading reads only safetensors
and JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .atomic import atomic_write_bytes

FORMAT = "attnviz-train-state"
FORMAT_VERSION = 1


def state_path_for(checkpoint: str | Path) -> Path:
    """Where the training state of a run writing ``checkpoint`` goes: ``NAME.state.safetensors``."""
    p = Path(checkpoint)
    return p.with_name(p.name.removesuffix(".safetensors") + ".state.safetensors")


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").clone().contiguous()  # clone: safetensors refuses shared (tied) storage


def _json_safe(value):
    if isinstance(value, tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for name, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{pid}.{name}"] = _cpu(v)
            else:
                scalars.setdefault(str(pid), {})[name] = _json_safe(v)
    return tensors, {"scalars": scalars, "param_groups": _json_safe(sd["param_groups"])}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], js: dict) -> dict:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    for pid, d in js["scalars"].items():
        state.setdefault(int(pid), {}).update(_from_json(d))
    groups = _from_json(js["param_groups"])
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def save_state(path: str | Path, tensors: dict[str, dict[str, torch.Tensor]], meta: dict) -> Path:
    """``tensors`` maps a prefix ("model", "best", ...) to a state dict; ``meta`` is JSON-able."""
    flat = {f"{prefix}.{k}": _cpu(v) for prefix, sd in tensors.items() for k, v in sd.items()}
    data = st_save(flat, {"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": json.dumps(_json_safe(meta))})
    return atomic_write_bytes(path, data)


def load_state(path: str | Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """(tensors by prefix, meta) of a file written by ``save_state``; ValueError if it is not one."""
    data = Path(path).read_bytes()
    try:
        flat = st_load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a state file"
        raise ValueError(f"{path}: not a training-state file ({exc})") from None
    md = header.get("__metadata__", {})
    if md.get("format") != FORMAT or md.get("format_version") != str(FORMAT_VERSION):
        raise ValueError(f"{path}: not a training-state file of this version (format {md.get('format')!r})")
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, v in flat.items():
        prefix, rest = key.split(".", 1)
        out.setdefault(prefix, {})[rest] = v
    return out, _from_json(json.loads(md["state"]))
