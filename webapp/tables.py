"""Tables for model cards and evaluation results (pure pandas; no Streamlit)."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from models.search import ranking_text
from models.translator import Translator
from viz.diagnostics import STAT_NAMES

from .registry import ModelEntry

METRICS = {
    "bleu": "BLEU",
    "bleu_beam5": "BLEU (beam 5)",
    "chrf": "chrF",
    "aer": "AER",
    "aer_posterior": "AER of the posterior",
    "diagonal_aer": "AER of the diagonal",
    "eflomal_aer": "AER of eflomal",
    "posterior_vs_eflomal": "Posterior − eflomal AER",
    "precision": "Align. precision",
    "recall": "Align. recall",
    "entropy": STAT_NAMES["mean_entropy"],
    "final_token_share": STAT_NAMES["final_token_share"],
    "eos_share": STAT_NAMES["eos_share"],
    "ms_per_sentence": "ms / sentence",
    "sentences": "Sentences",
}
CHART_METRICS = ("bleu", "aer", "aer_posterior", "entropy", "ms_per_sentence")
DECIMALS = {"bleu": 2, "bleu_beam5": 2, "chrf": 2, "ms_per_sentence": 2, "sentences": 0}  # the rest of METRICS: 3 (rates, shares, nats)
TRAINING = {  # the training summary's keys (models/train.py) as the model card names them; others show as stored
    "corpus": "Corpus",
    "pairs": "Sentence pairs",
    "epochs": "Epoch limit",
    "epochs_run": "Epochs run",
    "best_epoch": "Epoch kept",
    "select": "Epoch picked by (dev)",
    "seconds": "Training time (s)",
    "device": "Device",
    "batch_size": "Batch size",
    "lr": "Learning rate",
    "patience": "Early-stopping patience (epochs)",
    "seed": "Seed",
    "word_dropout": "Word dropout",
    "label_smoothing": "Label smoothing",
    "guided_alignment": "Guided-alignment weight",
    "guided_context": "Linked-context weight",
    "ema": "Weight averaging (EMA decay)",
    "rdrop": "R-Drop weight (alpha)",
    "rdrop_from": "R-Drop from epoch",
    "clip": "Gradient clipping (norm)",
    "warmup": "Warm-up (steps)",
    "processes": "Processes",
    "amp": "Mixed precision (CUDA)",
    "extra_epochs": "Epochs with the extra pairs (Tatoeba)",
}
MISSING = "—"  # how a missing value shows in every table
HISTORY = {"train_loss": "Training loss", "dev_loss": "Dev loss", "dev_bleu": "Dev BLEU"}


def _text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def card(entry: ModelEntry, translator: Translator) -> pd.DataFrame:
    """Field / value rows: what the model is and how big it is."""
    c = translator.model.config
    # a Transformer's config also holds a GRU's scorer and mode, which it does not use
    network = (
        {"Network": f"Transformer, {c.layers} layers × {c.heads} heads", "Attention": "scaled dot product, multi-head"}
        if c.family == "transformer"
        else {"Scorer": c.scorer, "Attention": c.mode}
    )
    rows = {
        "Name": translator.meta.get("name") or entry.label,
        "Origin": "uploaded this session" if entry.origin == "uploaded" else f"bundled ({entry.path.name if entry.path else ''})",
        "Direction": f"{translator.src_lang} → {translator.tgt_lang}",
        **network,
        "Parameters": f"{translator.num_parameters:,}",
        "Source vocabulary": f"{len(translator.src_vocab):,}",
        "Target vocabulary": f"{len(translator.tgt_vocab):,}",
        "Embedding / hidden size": f"{c.emb_dim} / {c.hidden}",
        "Beam ranking": ranking_text(**translator.ranking),
    }
    return pd.DataFrame({"Field": list(rows), "Value": list(rows.values())})


def training(meta: dict) -> pd.DataFrame:
    """The training summary stored in a checkpoint, one row per setting (history left out)."""
    items = {k: v for k, v in (meta.get("training") or {}).items() if k != "history"}
    return pd.DataFrame({"Setting": [TRAINING.get(k, k) for k in items], "Value": [_text(v) for v in items.values()]})


def history(meta: dict) -> pd.DataFrame | None:
    """Per-epoch training history indexed by epoch, if the checkpoint has one: the HISTORY
    columns (losses, dev BLEU) when it has them, else its numeric columns."""
    rows = (meta.get("training") or {}).get("history")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return None
    frame = pd.DataFrame(rows)
    if "epoch" in frame:
        frame = frame.set_index("epoch")
    known = [c for c in HISTORY if c in frame]  # not the epoch's seconds or token count: another scale on the same chart
    frame = (frame[known].apply(pd.to_numeric, errors="coerce") if known else frame.select_dtypes("number")).rename(columns=HISTORY)
    frame = frame.dropna(axis=1, how="all")  # a column never measured (dev BLEU when epochs were picked by loss): no empty chart
    return frame if not frame.empty else None


def metrics(rows: dict[str, dict]) -> pd.DataFrame:
    """One row per name (a model, or a split), the known metrics as columns, in a fixed order."""
    present = [k for k in METRICS if any(k in (r or {}) for r in rows.values())]
    data = {METRICS[k]: [(r or {}).get(k) for r in rows.values()] for k in present}
    return pd.DataFrame(data, index=pd.Index(list(rows), name="")).apply(pd.to_numeric, errors="coerce")


def intervals(rows: dict[str, dict]) -> pd.DataFrame:
    """The 95% bootstrap intervals stored beside the metrics (``aer_low``/``aer_high``, ...), one
    row per name, one column per metric that has them, as "low – high"; empty when none has."""
    keys = [k for k in METRICS if any(f"{k}_low" in (r or {}) and f"{k}_high" in (r or {}) for r in rows.values())]
    data = {
        f"{METRICS[k]} (95% interval)": [
            f"{r[f'{k}_low']:.3f} – {r[f'{k}_high']:.3f}" if f"{k}_low" in (r := rows[name] or {}) and f"{k}_high" in r else MISSING
            for name in rows
        ]
        for k in keys
    }
    return pd.DataFrame(data, index=pd.Index(list(rows), name="")) if keys else pd.DataFrame()


def styled(frame: pd.DataFrame) -> Styler:
    """``frame`` as shown: fractional columns to a fixed number of decimals (a metric's
    ``DECIMALS``, else 3), gaps as a dash (in the browser: ``webapp.views.table``)."""
    decimals = {label: DECIMALS.get(key, 3) for key, label in METRICS.items()}
    formats = {c: f"{{:,.{decimals.get(c, 3)}f}}" for c in frame.columns if pd.api.types.is_float_dtype(frame[c])}
    return frame.style.format(formats, na_rep=MISSING)


def aer_frame(results: dict[str, tuple[str, dict]]) -> pd.DataFrame:
    """Alignment error rates to chart side by side: per model (label -> (direction, metrics)) the
    AER of its attention and of its alignment posterior, then per direction eflomal's best
    symmetrisation and the diagonal guess on the same sentences. Rows without an AER are left out."""
    rows: dict[str, dict[str, float]] = {}
    baselines: dict[str, dict[str, float]] = {}
    for label, (direction, m) in results.items():
        if "aer" not in m:
            continue
        rows[label] = {"attention": m["aer"]} | ({"posterior": m["aer_posterior"]} if "aer_posterior" in m else {})
        if "eflomal_aer" in m:
            baselines[f"{direction}: eflomal ({m.get('eflomal_method', '')})"] = {"baseline": m["eflomal_aer"]}
        baselines[f"{direction}: diagonal"] = {"baseline": m["diagonal_aer"]}
    frame = pd.DataFrame.from_dict(rows | baselines, orient="index").rename_axis("model")
    return frame.reindex(columns=[c for c in ("attention", "posterior", "baseline") if c in frame])
