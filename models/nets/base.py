"""The step protocol every model family implements, and the types it speaks in.

A family is an ``nn.Module`` subclass of ``Family``. Decoding (``models.search``) only calls
``encode``, ``start``, ``step`` and ``select``; training and alignment scoring call ``forward``.
Attention comes back as named maps, each a tensor whose last four dimensions are
(layer, head, query, key): the GRU has one cross map of one layer and one head; a Transformer
has cross, encoder-self and decoder-self maps of L layers and H heads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from typing import Any, NamedTuple, TypeVar

import torch
from torch import nn

from ..config import ModelConfig

# Kinds of attention map; a map's name is one of MAP_KINDS' keys.
CROSS, ENCODER_SELF, DECODER_SELF, ALIGNMENT = "cross", "encoder_self", "decoder_self", "alignment"
MAP_KINDS = {
    "cross": CROSS,  # the cross-attention weights used to write each target token
    "cross_distribution": CROSS,  # softmax(e) before hard attention picked one position (hard models only)
    "encoder_self": ENCODER_SELF,
    "decoder_self": DECODER_SELF,  # masked: query t sees keys 0..t
    "posterior": ALIGNMENT,  # the alignment posterior given each written word (families that have one)
}
DIMS = ("layer", "head", "query", "key")


class Pick(NamedTuple):
    """How hard attention picks its position at inference: the argmax, or a sample drawn with
    ``generator`` (None: PyTorch's default generator). Soft attention ignores it."""

    sample: bool = False
    generator: torch.Generator | None = None


ARGMAX = Pick()


class Encoded(NamedTuple):
    """What decoding needs from the encoder for B sentences of up to S source tokens. Every
    tensor in it has the sentence in dimension 0, so ``select_rows`` can copy rows for beams."""

    mask: torch.Tensor  # (B, S) True at real source positions
    memory: Any  # the family's own encoder outputs (tensors with B first)
    maps: dict[str, torch.Tensor]  # name -> (B, L, H, S, S): encoder self-attention, if the family has it


class Step(NamedTuple):
    """One decoding step for n rows (sentences or beams)."""

    logits: torch.Tensor  # (n, V)
    state: Any  # the family's decoding state after this step (tensors with n first)
    maps: dict[str, torch.Tensor]  # name -> (n, L, H, K): "cross" (K = S), "decoder_self" (K = t + 1), ...


class Forward(NamedTuple):
    """Teacher forcing over T target steps (training, alignment scoring)."""

    logits: torch.Tensor  # (B, T, V)
    maps: dict[str, torch.Tensor]  # name -> (B, L, H, T, K)
    linked_logits: torch.Tensor | None  # (N, V) each aligner-linked word from its linked source states, given links


T = TypeVar("T")


def select_rows(tree: T, index: torch.Tensor) -> T:
    """Rows ``index`` (N,) of every tensor in a nest of tuples, lists, dicts and dataclasses
    (the families' encoder outputs and decoding states keep the row in dimension 0)."""
    return map_tensors(tree, lambda t: t.index_select(0, index))


def map_tensors(tree: T, fn: Callable[[torch.Tensor], torch.Tensor]) -> T:
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(map_tensors(x, fn) for x in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(map_tensors(x, fn) for x in tree)
    if isinstance(tree, dict):
        return {k: map_tensors(v, fn) for k, v in tree.items()}
    if is_dataclass(tree) and not isinstance(tree, type):
        return replace(tree, **{f.name: map_tensors(getattr(tree, f.name), fn) for f in fields(tree)})
    return tree


def shift_right(tgt_out: torch.Tensor, bos: int) -> torch.Tensor:
    """The decoder's inputs y_{t-1} (B, T) for the tokens to predict tgt_out (B, T): BOS first."""
    return torch.cat([torch.full_like(tgt_out[:, :1], bos), tgt_out[:, :-1]], dim=1)


class Family(nn.Module):
    """Base of every model family. Subclasses set ``name`` and implement the methods below."""

    name = ""
    has_posterior = False  # whether ``posterior`` is implemented
    tied: dict[str, str] = {}  # state-dict keys that share another key's tensor (stored once in checkpoints)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def tie(self) -> None:
        """Make the ``tied`` parameters share their tensors again (after loading with assign)."""

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        """src (B, S) ids padded with PAD, lengths (B,) -> Encoded."""
        raise NotImplementedError

    def start(self, enc: Encoded) -> Any:
        """The decoding state before the first step, one row per sentence of ``enc``."""
        raise NotImplementedError

    def step(self, y_prev: torch.Tensor, state: Any, enc: Encoded, pick: Pick = ARGMAX) -> Step:
        """y_prev (n,) the previous tokens, ``state`` and ``enc`` with n rows -> Step."""
        raise NotImplementedError

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor, links: torch.Tensor | None = None) -> Forward:
        """Teacher forcing: tgt_out (B, T) the tokens to predict (EOS, then PAD); links
        (B, T, S) optional aligner links for ``Forward.linked_logits``. Row t of every map is
        the attention used to predict tgt_out[:, t]."""
        raise NotImplementedError

    def alignment(self, cross: torch.Tensor) -> torch.Tensor:
        """The family's reading of its cross-attention as a word alignment:
        (..., L, H, T, S) -> (..., T, S). Guided alignment trains this reading."""
        raise NotImplementedError

    def alignment_of(self, maps: dict[str, torch.Tensor]) -> torch.Tensor:
        """``alignment`` of a step's or a teacher-forced pass's maps: of the distribution hard
        attention picked from, where there is one (what guided alignment trains)."""
        return self.alignment(maps.get("cross_distribution", maps["cross"]))

    def posterior(self, src: torch.Tensor, lengths: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
        """The alignment posterior p(a_t = i | y_t) (B, T, S), for families with ``has_posterior``."""
        raise NotImplementedError(f"the {self.name} family has no alignment posterior")

    def max_len(self, src_len: int) -> int:
        """Length cap for decoding a source of ``src_len`` tokens, so decoding always ends."""
        return int(self.config.max_len_ratio * src_len) + 5
