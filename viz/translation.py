"""The translation as HTML: each token tinted by how sure the model was, its probability on hover."""

from __future__ import annotations

import html

from models.result import DecodeResult

from .style import FONT_FAMILY, confidence_background
from .tokens import pick, target_joiner, words

SPAN_STYLE = "border-radius:3px;padding:0 1px;background:{background}"


def translation_html(result: DecodeResult, hypothesis: int = 0) -> str:
    """Escaped spans, one per generated token (end token not shown), titled "p = 0.87" and
    tinted warmer the less likely the token was. Unfinished hypotheses end with "…"."""
    hyp = pick(result, hypothesis)
    shown = words(hyp)
    spans = [
        f'<span style="{SPAN_STYLE.format(background=confidence_background(p))}" title="p = {p:.2f}">{html.escape(tok)}</span>'
        for tok, p in zip(shown, map(float, hyp.token_probs))
    ]
    if not shown:
        spans = ['<span style="color:#888;font-style:italic">(empty translation: the model ended at once)</span>']
    if not hyp.finished:
        spans.append('<span style="color:#888" title="stopped at the length limit before the end token">…</span>')
    body = target_joiner(result).join(spans)
    return f'<div style="font-family:{html.escape(FONT_FAMILY, quote=True)};font-size:1.25em;line-height:1.8">{body}</div>'
