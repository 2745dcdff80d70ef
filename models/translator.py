"""A trained model with its tokenisers and vocabularies: text in, DecodeResult out."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from .beam import TorchStepper, beam_search
from .greedy import greedy_decode
from .kernel import KernelStepper
from .result import DecodedIds, DecodeResult, Hypothesis
from .seq2seq import Seq2Seq
from .tokenize import Tokenizer
from .vocab import EOS, PAD, UNK, Vocab

MAX_SOURCE_TOKENS = 60  # longer inputs are cut to this many tokens (the end token not counted)
MAX_BEAM = 10


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when it is there, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no CUDA device is available")
    return torch.device(name)


def _serialised(method):
    """Run ``method`` holding the translator's lock."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class Translator:
    model: Seq2Seq
    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    src_lang: str
    tgt_lang: str
    meta: dict = field(default_factory=dict)  # training summary, metrics, name
    # One call at a time: decoding sets the shared model's hard-inference mode and the global
    # sampling seed, and app sessions share bundled translators across threads.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def direction(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"

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

    @torch.inference_mode()
    def encode_sources(self, token_lists: list[list[str]]):
        """Token lists (each ending in "</s>") -> Encoded for the batch."""
        ids = [self.source_ids(t) for t in token_lists]
        S = max(len(x) for x in ids)
        src = torch.tensor([x + [PAD] * (S - len(x)) for x in ids], device=self.device)
        lengths = torch.tensor([len(x) for x in ids], device=self.device)
        return self.model.encode(src, lengths)

    def _hypothesis(self, d: DecodedIds) -> Hypothesis:
        tokens = self.tgt_vocab.decode(d.ids)
        words = tokens[:-1] if d.finished else tokens
        itos = self.tgt_vocab.itos
        alts = [[(itos[i], p) for i, p in zip(ids, ps)] for ids, ps in zip(d.alt_ids.tolist(), d.alt_probs.tolist())]
        return Hypothesis(
            tokens=tokens,
            text=self.tgt_tokenizer.detokenize(words),
            attention=d.attention,
            token_probs=d.token_probs,
            alternatives=alts,
            score=d.score,
            finished=d.finished,
        )

    @_serialised
    @torch.inference_mode()
    def translate(self, text: str, beam: int = 1, hard_inference: str = "argmax", seed: int | None = None) -> DecodeResult:
        """Translate one sentence. ``beam`` 1 is greedy; ``hard_inference`` applies to hard models."""
        if not text or not text.strip():
            raise ValueError("Please type a sentence to translate.")
        if not 1 <= beam <= MAX_BEAM:
            raise ValueError(f"beam size must be between 1 and {MAX_BEAM}")
        if hard_inference not in ("argmax", "sample"):
            raise ValueError("hard_inference must be 'argmax' or 'sample'")
        tokens, cut = self.source_tokens(text)
        if len(tokens) == 1:
            raise ValueError("The input has no readable tokens (only spaces or invisible characters).")
        if seed is not None:
            torch.manual_seed(seed)
        decoded = self.decode(tokens, beam, hard_inference)
        sampled = self.model.config.mode == "hard" and hard_inference == "sample"
        return DecodeResult(
            source_tokens=tokens,
            source_known=[self.src_vocab.id(t) != UNK for t in tokens[:-1]] + [True],
            hypotheses=[self._hypothesis(d) for d in decoded],
            direction=self.direction,
            scorer=self.model.config.scorer,
            mode=self.model.config.mode,
            strategy=("greedy" if beam == 1 else f"beam-{beam}") + (" (sampled attention)" if sampled else ""),
            truncated_from=cut,
        )

    @_serialised
    @torch.inference_mode()
    def decode(self, tokens: list[str], beam: int = 1, hard_inference: str = "argmax") -> list[DecodedIds]:
        """Decode one token list from ``source_tokens``: greedy (``beam`` 1) or beam search.

        On the CPU the decoder is the NumPy kernel (models/kernel.py), except for sampled hard
        attention, which draws from PyTorch's generator."""
        if self.model.training:  # eval() walks every module: skip it when there is nothing to do
            self.model.eval()
        self.model.decoder.attention.hard_inference = hard_inference
        max_len = self.model.max_len(len(tokens))
        sampled = self.model.config.mode == "hard" and hard_inference == "sample"
        if self.device.type == "cpu" and not sampled:
            kernel = self.model.cpu_kernel()
            if beam == 1:
                return [kernel.greedy(self.source_ids(tokens), max_len)]
            return beam_search(KernelStepper(kernel, self.source_ids(tokens)), beam, max_len)
        enc = self.encode_sources([tokens])
        if beam == 1:
            return greedy_decode(self.model, enc, [max_len])
        return beam_search(TorchStepper(self.model, enc, beam), beam, max_len)

    @_serialised
    @torch.inference_mode()
    def decode_batch(self, token_lists: list[list[str]], batch_size: int = 64, workers: int = 1) -> list[DecodedIds]:
        """Greedy decoding of many token lists (each ending in "</s>"), in input order.

        Sentences are batched by length (less padding) and attend by argmax in hard mode; the
        output is the same as decoding one sentence at a time. ``workers`` > 1 decodes that many
        batches at once, in threads: PyTorch releases Python's lock while it computes, so with
        one thread per operation (``models.threads.set_threads(1)``) each batch gets a core
        (bench/decode.py compares this with one batch at a time on two threads per operation).
        """
        if self.model.training:
            self.model.eval()
        self.model.decoder.attention.hard_inference = "argmax"
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

        def run(idx: list[int]) -> list[DecodedIds]:
            toks = [token_lists[i] for i in idx]
            with torch.inference_mode():  # per thread
                return greedy_decode(self.model, self.encode_sources(toks), [self.model.max_len(len(t)) for t in toks])

        if workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(workers, len(batches))) as pool:
                results = list(pool.map(run, batches))
        else:
            results = [run(idx) for idx in batches]
        decoded = {i: d for idx, out in zip(batches, results) for i, d in zip(idx, out)}
        return [decoded[i] for i in range(len(token_lists))]

    def translate_batch(self, texts: list[str], batch_size: int = 64, workers: int = 1) -> list[str]:
        """Greedy translations of many sentences, batched (same output as one at a time)."""
        decoded = self.decode_batch([self.source_tokens(t)[0] for t in texts], batch_size, workers)
        return [self._hypothesis(d).text for d in decoded]

    @_serialised
    @torch.inference_mode()
    def force(self, source_tokens: list[str], target_tokens: list[str], posterior: bool = False) -> torch.Tensor:
        """Attention distributions when the model is fed a given target (teacher forcing), or
        with ``posterior`` the alignment posterior given each word (``Seq2Seq.posterior``).

        source_tokens end in "</s>"; target_tokens are words only. Returns (T + 1, S): one row
        per target token and one for the end token.
        """
        self.model.eval()
        enc_ids = self.source_ids(source_tokens)
        src = torch.tensor([enc_ids], device=self.device)
        tgt = torch.tensor([self.tgt_vocab.encode(target_tokens) + [EOS]], device=self.device)
        lengths = torch.tensor([len(enc_ids)])
        rows = self.model.posterior(src, lengths, tgt) if posterior else self.model(src, lengths, tgt)[2]
        return rows[0].cpu()
