"""Translations the pages draw, cached so a rerun that changes nothing computes nothing."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from models.result import AttentionMap, DecodeResult, Selection, select
from models.translator import Translator

from .registry import ModelEntry

MAX_CACHED = 512


def model_key(entry: ModelEntry, translator: Translator) -> str:
    """Cache key of a model on its device: changes when the weights or the device change."""
    return f"{entry.fingerprint}|{translator.device}"


@st.cache_data(max_entries=MAX_CACHED, show_spinner=False)
def _translate(_translator: Translator, key: str, text: str, beam: int, hard_inference: str, seed: int | None) -> DecodeResult:
    return _translator.translate(text, beam=beam, hard_inference=hard_inference, seed=seed)


def translate(
    entry: ModelEntry, translator: Translator, text: str, beam: int = 1, hard_inference: str = "argmax", seed: int | None = None
) -> DecodeResult:
    """``Translator.translate``, cached by model, device and every input. Sampling takes a
    seed so that a cached sample is the one the user asked for."""
    if translator.model.config.mode != "hard":
        hard_inference, seed = "argmax", None
    elif hard_inference == "argmax":
        seed = None
    return _translate(translator, model_key(entry, translator), text, beam, hard_inference, seed)


@st.cache_data(max_entries=MAX_CACHED, show_spinner=False)
def _forced(_translator: Translator, key: str, text: str, target_words: tuple[str, ...]) -> DecodeResult:
    source, cut = _translator.source_tokens(text)
    return replace(_translator.force(source, list(target_words)), truncated_from=cut)


def forced(entry: ModelEntry, translator: Translator, text: str, target_words: list[str]) -> DecodeResult:
    """The model fed ``target_words`` (teacher forcing) instead of its own output
    (``Translator.force``): one hypothesis, rows = the words then "</s>". In hard-attention
    models the rows are the distributions softmax(e) it would pick from."""
    return _forced(translator, model_key(entry, translator), text, tuple(target_words))


def posterior(entry: ModelEntry, translator: Translator, result: DecodeResult, hypothesis: int, text: str) -> DecodeResult:
    """``result`` with one hypothesis, the chosen one, given its alignment posterior map (the
    family's ``posterior`` given each token it wrote) and drawn from it."""
    hyp = result.hypotheses[hypothesis]
    target_words = tuple(hyp.tokens[:-1] if hyp.finished else hyp.tokens)
    rows = forced(entry, translator, text, list(target_words)).best.maps["posterior"]
    # an unfinished hypothesis has no end row; the rows before it never see later tokens
    post = AttentionMap("posterior", rows.values[:, :, : len(hyp.tokens)])
    return select(replace(result, hypotheses=[replace(hyp, maps=hyp.maps | {"posterior": post})]), Selection("posterior"))


def reference_words(translator: Translator, reference: str) -> list[str]:
    """A reference translation split the way the model's target side is."""
    return translator.tgt_tokenizer.tokenize(reference)

