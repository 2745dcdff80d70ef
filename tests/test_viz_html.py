"""HTML snippets: every token escaped, shading follows the attention, probabilities on hover."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.test_viz_samples import TRICKY, edge_cases, make_result
from viz import highlight_html, translation_html
from viz.style import weight_color


class Spans(HTMLParser):
    """Collects (attributes, text) of each innermost <span> and every tag name seen."""

    def __init__(self, markup: str):
        super().__init__()
        self.spans: list[tuple[dict, str]] = []
        self.tags: set[str] = set()
        self._open: list[dict] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "span":
            self._open.append(dict(attrs))
            self.spans.append((self._open[-1], ""))

    def handle_endtag(self, tag):
        if tag == "span":
            self._open.pop()

    def handle_data(self, data):
        if self._open and self.spans[-1][0] is self._open[-1]:
            self.spans[-1] = (self.spans[-1][0], self.spans[-1][1] + data)


def token_spans(markup: str) -> list[tuple[dict, str]]:
    """Spans that carry a title (the tokens)."""
    return [(a, t) for a, t in Spans(markup).spans if "title" in a]


@pytest.mark.parametrize("case", list(edge_cases()))
def test_html_never_contains_raw_token_markup(case):
    result = edge_cases()[case]
    for markup in (highlight_html(result, target_index=0, source_index=0), translation_html(result)):
        assert "<script" not in markup.lower()
        assert Spans(markup).tags <= {"div", "span"}


def test_highlight_escapes_tokens_so_they_read_literally():
    result = make_result(TRICKY, ["</s>"])
    markup = highlight_html(result)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert [t for _, t in token_spans(markup)] == [*TRICKY, "</s>", "</s>"]


def test_highlight_by_target_shades_source_tokens_with_that_row():
    result = make_result(["a", "b", "c"], ["x", "y", "</s>"])
    spans = token_spans(highlight_html(result, target_index=1))
    source, target = spans[:4], spans[4:]
    for (attrs, _), w in zip(source, result.attention[1]):
        assert f"background:{weight_color(float(w))}" in attrs["style"]
        assert attrs["title"].endswith(f"{float(w):.3f}") and "attention from “y”" in attrs["title"]
    assert ["outline" in a["style"] for a, _ in target] == [False, True, False]
    assert not any("background" in a["style"] for a, _ in target)


def test_highlight_by_source_shades_target_tokens_with_that_column():
    result = make_result(["a", "b"], ["x", "y", "</s>"])
    spans = token_spans(highlight_html(result, source_index=0))
    source, target = spans[:3], spans[3:]
    for (attrs, _), w in zip(target, result.attention[:, 0]):
        assert f"background:{weight_color(float(w))}" in attrs["style"]
        assert attrs["title"].endswith(f"{float(w):.3f}")
    assert ["outline" in a["style"] for a, _ in source] == [True, False, False]


def test_highlight_rejects_indices_out_of_range():
    result = make_result(["a"], ["x"])
    with pytest.raises(ValueError, match="target_index 1 is out of range"):
        highlight_html(result, target_index=1)
    with pytest.raises(ValueError, match="source_index -1 is out of range"):
        highlight_html(result, source_index=-1)


def test_translation_shows_each_token_with_its_probability_and_hides_the_end_token():
    result = make_result(["a"], ["<b>", "&", "</s>"], direction="zh-en")
    spans = token_spans(translation_html(result))
    assert [t for _, t in spans] == ["<b>", "&"]
    assert [a["title"] for a, _ in spans] == [f"p = {float(p):.2f}" for p in result.best.token_probs[:2]]
    assert "&lt;b&gt;" in translation_html(result)


def test_translation_tints_unsure_tokens_more():
    result = make_result(["a"], ["x", "y", "</s>"])
    probs = result.best.token_probs
    spans = token_spans(translation_html(result))
    alpha = [float(a["style"].rsplit(",", 1)[1].rstrip(")")) for a, _ in spans]
    assert (alpha[0] > alpha[1]) == (probs[0] < probs[1])


def test_translation_marks_empty_and_unfinished_outputs():
    assert "empty translation" in translation_html(make_result(["a"], ["</s>"]))
    assert "…" in translation_html(make_result(["a"], ["x", "x"], finished=False))


def test_translation_joins_chinese_tokens_without_spaces():
    markup = translation_html(make_result(["a"], ["我", "爱", "</s>"], direction="en-zh"))
    assert "</span><span" in markup
