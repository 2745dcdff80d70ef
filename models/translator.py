"""A trained model with its tokenisers and vocabularies: text in, DecodeResult out.

Decoding shares nothing mutable between calls (hard attention's argmax or sample and the
sampling seed travel as arguments), so threads may share one Translator.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch

from .nets.base import ARGMAX, Encoded, Family, Pick
from .result import AttentionMap, DecodedIds, DecodeResult, Hypothesis, Strategy
from .search import COVERAGE_BETA, LENGTH_ALPHA, search
from .tokenize import Tokenizer
from .vocab import EOS, PAD, UNK, Vocab

RANKING_DEFAULTS = {"length_alpha": LENGTH_ALPHA, "coverage_beta": COVERAGE_BETA}
MAX_RANKING = 10.0  # the largest length_alpha or coverage_beta a checkpoint may set

MAX_SOURCE_TOKENS = 60  # longer inputs are cut to this many tokens (the end token not counted)
MAX_BEAM = 10
REPORTED_BEAM = 5  # the beam of the stored metrics' "beam 5" figures, and the app's default beam size
HARD_INFERENCE = ("argmax", "sample")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when it is there, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no CUDA device is available")
    return torch.device(name)


@dataclass
class Translator:
    model: Family
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_lang: str
    tgt_lang: str
    meta: dict = field(default_factory=dict)  # training summary, metrics, name, decoding

    @property
    def direction(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"

    @property
    def ranking(self) -> dict[str, float]:
        """How this model's beam search ranks hypotheses unless told otherwise: length_alpha and
        coverage_beta (models.search), from ``meta["decoding"]`` (set by ``train --length-alpha``
        and ``--coverage``), else the defaults."""
        return RANKING_DEFAULTS | self.meta.get("decoding", {})

    def ranking_for(self, beam: int, length_alpha: float | None, coverage_beta: float | None) -> tuple[float, float]:
        """The ranking to decode with: the given values, None taking the model's; checked."""
        own = self.ranking
        alpha = own["length_alpha"] if length_alpha is None else length_alpha
        beta = own["coverage_beta"] if coverage_beta is None else coverage_beta
        _check_decoding(beam, alpha, beta)
        return alpha, beta

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def to(self, device: torch.device | str) -> Translator:
        self.model.to(device)
        return self

    # text -> tokens -> ids
    def source_tokens(self, text: str) -> tuple[list[str], int | None]:
        """Tokens the model reads (end token appended) and the original count if cut."""
        tokens = self.src_tokenizer.tokenize(text)
        cut = len(tokens) if len(tokens) > MAX_SOURCE_TOKENS else None
        return tokens[:MAX_SOURCE_TOKENS] + ["</s>"], cut

    def source_ids(self, tokens: list[str]) -> list[int]:
        """Tokens from ``source_tokens`` ("</s>" last) -> ids, the end token last."""
        return self.src_vocab.encode(tokens[:-1]) + [EOS]

    def _batch(self, token_lists: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token lists (each ending in "</s>") -> src (B, S) padded ids and lengths (B,), on
        the model's device, the model in evaluation mode."""
        if self.model.training:  # eval() walks every module: only when there is something to do
            self.model.eval()
        device = self.device
        ids = [self.source_ids(t) for t in token_lists]
        S = max(len(x) for x in ids)
        src = torch.tensor([x + [PAD] * (S - len(x)) for x in ids], device=device)
        return src, torch.tensor([len(x) for x in ids], device=device)

    @torch.inference_mode()
    def encode(self, token_lists: list[list[str]]) -> Encoded:
        """Token lists (each ending in "</s>") -> the model's Encoded for the batch."""
        return self.model.encode(*self._batch(token_lists))

    def _hypothesis(self, d: DecodedIds) -> Hypothesis:
        tokens = self.tgt_vocab.decode(d.ids)
        words = tokens[:-1] if d.finished else tokens
        itos = self.tgt_vocab.itos
        alts = [[(itos[i], p) for i, p in zip(ids, ps)] for ids, ps in zip(d.alt_ids.tolist(), d.alt_probs.tolist())]
        maps = {name: AttentionMap(name, v) for name, v in d.maps.items()}
        attention = self.model.alignment(torch.from_numpy(d.maps["cross"])).numpy() if "cross" in d.maps else np.zeros((len(tokens), 0))
        return Hypothesis(tokens, self.tgt_tokenizer.detokenize(words), attention, d.token_probs, alts, d.score, d.finished, maps, d.rank_score)

    def _result(self, tokens: list[str], cut: int | None, hyps: list[Hypothesis], strategy: Strategy, source_maps: dict) -> DecodeResult:
        c = self.model.config
        return DecodeResult(
            source_tokens=tokens,
            source_known=[self.src_vocab.id(t) != UNK for t in tokens[:-1]] + [True],
            hypotheses=hyps,
            direction=self.direction,
            scorer=c.scorer if c.family == "rnn" else "",
            mode=c.mode if c.family == "rnn" else "soft",
            strategy=strategy,
            truncated_from=cut,
            family=c.family,
            source_maps=source_maps,
        )

    @torch.inference_mode()
    def translate(
        self,
        text: str,
        beam: int = 1,
        hard_inference: str = "argmax",
        seed: int | None = None,
        length_alpha: float | None = None,
        coverage_beta: float | None = None,
    ) -> DecodeResult:
        """Translate one sentence. ``beam`` 1 is greedy; ``hard_inference`` ("argmax" or
        "sample", with ``seed`` for a repeatable sample) applies to hard-attention models.
        Beam hypotheses are ranked by score / T ** ``length_alpha`` plus ``coverage_beta``
        times the coverage penalty (models.search); None: the model's own (``ranking``)."""
        if hard_inference not in HARD_INFERENCE:
            raise ValueError("hard_inference must be 'argmax' or 'sample'")
        length_alpha, coverage_beta = self.ranking_for(beam, length_alpha, coverage_beta)
        sampled = self.model.config.mode == "hard" and hard_inference == "sample"
        pick = Pick(sampled, torch.Generator(self.device).manual_seed(seed) if sampled and seed is not None else None)
        [result] = self._results([self._readable(text)], beam, pick, length_alpha, coverage_beta)
        return result

    def translate_many(
        self, texts: list[str], beam: int = 1, length_alpha: float | None = None, coverage_beta: float | None = None, rows: int = 64,
        workers: int = 1,
    ) -> list[DecodeResult]:
        """``translate`` of many sentences (hard attention by argmax), batched by length with
        about ``rows`` search rows (sentences times beams) at a time, ``workers`` batches at once
        (``in_batches``): the same results as one at a time, in input order. Every text needs
        readable tokens (ValueError otherwise)."""
        length_alpha, coverage_beta = self.ranking_for(beam, length_alpha, coverage_beta)
        sources = [self._readable(t) for t in texts]
        batches = _by_length([tokens for tokens, _ in sources], max(1, rows // beam))
        outs = in_batches(batches, lambda idx: self._results([sources[i] for i in idx], beam, ARGMAX, length_alpha, coverage_beta), workers)
        results = {i: r for idx, out in zip(batches, outs) for i, r in zip(idx, out)}
        return [results[i] for i in range(len(texts))]

    def _readable(self, text: str) -> tuple[list[str], int | None]:
        """``source_tokens`` of a text that has a word to translate; ValueError otherwise."""
        if not text or not text.strip():
            raise ValueError("Please type a sentence to translate.")
        tokens, cut = self.source_tokens(text)
        if len(tokens) == 1:
            raise ValueError("The input has no readable tokens (only spaces or invisible characters).")
        return tokens, cut

    def _results(
        self, sources: list[tuple[list[str], int | None]], beam: int, pick: Pick, length_alpha: float, coverage_beta: float
    ) -> list[DecodeResult]:
        """Decode B sentences together (``source_tokens`` of each) into their DecodeResults."""
        token_lists = [tokens for tokens, _ in sources]
        enc = self.encode(token_lists)
        caps = [self.model.max_len(len(t)) for t in token_lists]
        decoded = search(self.model, enc, caps, beam, pick, length_alpha=length_alpha, coverage_beta=coverage_beta)
        out = []
        for b, ((tokens, cut), hyps) in enumerate(zip(sources, decoded)):
            n = len(tokens)  # the encoder's maps of sentence b, cut to its real tokens: (L, H, n, n)
            source_maps = {name: AttentionMap(name, v[b, :, :, :n, :n].float().cpu().numpy()) for name, v in enc.maps.items()}
            out.append(self._result(tokens, cut, [self._hypothesis(d) for d in hyps], Strategy(beam, pick.sample, ranking=(length_alpha, coverage_beta) if beam > 1 else None), source_maps))
        return out

    def decode_batch(
        self,
        token_lists: list[list[str]],
        batch_size: int = 64,
        details: bool = False,
        beam: int = 1,
        length_alpha: float | None = None,
        coverage_beta: float | None = None,
        workers: int = 1,
    ) -> list[DecodedIds]:
        """Decoding of many token lists (each ending in "</s>"), in input order: greedy, or the
        best hypothesis of beam search with ``beam`` beams.

        Sentences are batched by length (less padding), ``workers`` batches at once
        (``in_batches``), and attend by argmax in hard mode; the output is the same as decoding
        one sentence at a time. Without ``details`` the results have no attention maps and no
        alternatives (``search``)."""
        length_alpha, coverage_beta = self.ranking_for(beam, length_alpha, coverage_beta)

        def decode(idx: list[int]) -> list[DecodedIds]:
            toks = [token_lists[i] for i in idx]
            caps = [self.model.max_len(len(t)) for t in toks]
            out = search(self.model, self.encode(toks), caps, beam, details=details, length_alpha=length_alpha, coverage_beta=coverage_beta)
            return [hyps[0] for hyps in out]

        batches = _by_length(token_lists, batch_size)
        decoded = {i: d for idx, out in zip(batches, in_batches(batches, decode, workers)) for i, d in zip(idx, out)}
        return [decoded[i] for i in range(len(token_lists))]

    def translate_batch(
        self, texts: list[str], batch_size: int = 64, beam: int = 1, length_alpha: float | None = None, coverage_beta: float | None = None,
        workers: int = 1,
    ) -> list[str]:
        """Translations of many sentences (greedy, or beam search's best), batched, ``workers``
        batches at once (same output as one at a time)."""
        decoded = self.decode_batch(
            [self.source_tokens(t)[0] for t in texts], batch_size, beam=beam, length_alpha=length_alpha, coverage_beta=coverage_beta, workers=workers
        )
        return [self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(d.ids[:-1] if d.finished else d.ids)) for d in decoded]

    @torch.inference_mode()
    def force(self, source_tokens: list[str], target_tokens: list[str]) -> DecodeResult:
        """Teacher forcing: the model fed a given target (words only, no end token) instead of
        its own output. One hypothesis whose rows are the target words then "</s>"; its maps are
        the teacher-forced attention (``attention``: the family's alignment reading of the
        distribution, before hard attention picks), plus ``posterior`` where the family has one.
        Token probabilities are those of the given words."""
        src, lengths = self._batch([source_tokens])
        tgt = torch.tensor([self.tgt_vocab.encode(target_tokens) + [EOS]], device=self.device)
        fwd = self.model(src, lengths, tgt)
        maps = {name: v[0].float().cpu().numpy() for name, v in fwd.maps.items()}
        source_maps = {name: AttentionMap(name, maps.pop(name)) for name in [n for n in maps if n == "encoder_self"]}
        if self.model.has_posterior:
            maps["posterior"] = self.model.posterior(src, lengths, tgt)[0, None, None].float().cpu().numpy()
        logp = torch.log_softmax(fwd.logits[0].float(), dim=-1)  # (T, V)
        word_lp = logp.gather(1, tgt[0, :, None])[:, 0].cpu().numpy()
        tokens = [*target_tokens, "</s>"]
        hyp = Hypothesis(
            tokens=tokens,
            text=self.tgt_tokenizer.detokenize(list(target_tokens)),
            attention=self.model.alignment_of({k: torch.from_numpy(v) for k, v in maps.items()}).numpy(),
            token_probs=np.exp(word_lp),
            alternatives=[[] for _ in tokens],
            score=float(word_lp.sum()),
            finished=True,
            maps={name: AttentionMap(name, v) for name, v in maps.items()},
        )
        return self._result(list(source_tokens), None, [hyp], Strategy(forced=True), source_maps)


T = TypeVar("T")


def in_batches(batches: list[list[int]], decode: Callable[[list[int]], list[T]], workers: int = 1) -> list[list[T]]:
    """``decode(batch)`` of each batch (of input indices), in order, under inference mode;
    ``workers`` > 1: that many batches at once, in threads. PyTorch releases Python's lock while
    it computes, so when each operation runs on one thread (``torch.set_num_threads(1)``, as
    ``translate --input`` sets on a CPU: ``cli.decoding_workers``) each core decodes a batch of
    its own: more sentences per second than one batch at a time over all cores, whose products
    are too small to share well. Decoding shares nothing mutable between threads (``Translator``)."""

    def run(idx: list[int]) -> list[T]:
        with torch.inference_mode():  # per thread
            return decode(idx)

    if workers <= 1 or len(batches) <= 1:
        return [run(idx) for idx in batches]
    with ThreadPoolExecutor(min(workers, len(batches))) as pool:
        return list(pool.map(run, batches))


def _by_length(token_lists: list[list[str]], batch_size: int) -> list[list[int]]:
    """The lists' indices in batches of ``batch_size``, shortest first (less padding, and a
    batch's sentences end at about the same step)."""
    order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _check_decoding(beam: int, length_alpha: float, coverage_beta: float) -> None:
    """The decoding options: a beam size from 1 to MAX_BEAM; the ranking's alpha and beta
    finite and not negative."""
    if not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam size must be between 1 and {MAX_BEAM}")
    for name, v in (("length_alpha", length_alpha), ("coverage_beta", coverage_beta)):
        if not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number of 0 or more")
