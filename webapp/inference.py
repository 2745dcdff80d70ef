"""Translations the pages draw, cached so a rerun that changes nothing computes nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from models.result import DecodeResult, Hypothesis
from models.translator import Translator
from models.vocab import UNK

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
    attention = _translator.force(source, list(target_words)).numpy()  # (T + 1, S)
    tokens = [*target_words, "</s>"]
    hyp = Hypothesis(
        tokens=tokens,
        text=_translator.tgt_tokenizer.detokenize(list(target_words)),
        attention=attention,
        token_probs=np.full(len(tokens), np.nan),
        alternatives=[[] for _ in tokens],
        score=float("nan"),
        finished=True,
    )
    known = [_translator.src_vocab.id(t) != UNK for t in source[:-1]] + [True]
    c = _translator.model.config
    return DecodeResult(source, known, [hyp], _translator.direction, c.scorer, c.mode, "forced", cut)


def forced(entry: ModelEntry, translator: Translator, text: str, target_words: list[str]) -> DecodeResult:
    """The model's attention while it is fed ``target_words`` (teacher forcing) instead of its
    own output: one hypothesis, rows = the words then "</s>", token probabilities unknown (NaN).
    In hard-attention models the rows are the distributions softmax(e) it would sample from."""
    return _forced(translator, model_key(entry, translator), text, tuple(target_words))


@st.cache_data(max_entries=MAX_CACHED, show_spinner=False)
def _posterior(_translator: Translator, key: str, text: str, target_words: tuple[str, ...]) -> np.ndarray:
    return _translator.force(_translator.source_tokens(text)[0], list(target_words), posterior=True).numpy()  # (T + 1, S)


def posterior(entry: ModelEntry, translator: Translator, result: DecodeResult, hypothesis: int, text: str) -> DecodeResult:
    """``result`` with one hypothesis, the chosen one, its attention rows replaced by the
    alignment posterior given each token it wrote (``Seq2Seq.posterior``)."""
    hyp = result.hypotheses[hypothesis]
    target_words = tuple(hyp.tokens[:-1] if hyp.finished else hyp.tokens)
    rows = _posterior(translator, model_key(entry, translator), text, target_words)
    # an unfinished hypothesis has no end row; the rows before it never see later tokens
    return replace(result, hypotheses=[replace(hyp, attention=rows[: len(hyp.tokens)])], cells="posterior")


def reference_words(translator: Translator, reference: str) -> list[str]:
    """A reference translation split the way the model's target side is."""
    return translator.tgt_tokenizer.tokenize(reference)

