"""Sequence-level knowledge distillation (Kim & Rush 2016) on the HSK corpus.

A teacher (one model, or an ensemble whose token distribution is the mean of its members')
translates the training split of its direction with beam search; a student then trains on the
teacher's translations in place of the human ones (``python -m models train --distilled DIR``),
so it learns the teacher's single most likely output rather than every variation of the
references; ``--with-references`` keeps the human pairs and adds the teacher's translations that
differ from them. Dev and test keep their human references and gold alignments.

Back-translation (Sennrich et al. 2016) is the same record the other way round: teachers of the
opposite direction translate the training targets (``distill --back``), and the student reads
pairs of a synthetic source and a human target. ``train --distilled`` takes several folders, for
example one of each kind.

``python -m models distill`` writes DIR/ with

- ``distilled.json``: {"direction" (the student's), "kind" ("forward" or "back"; absent:
  forward), "teachers", "beam", "pairs": [{"id", "src", "tgt"}]};
- ``train.ids`` and ``train.eflomal-gdfa.en-zh``: eflomal links of each (source, target) pair,
  in the corpus's en-zh order like the bundled files, for ``--guided-alignment``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from .aligner import TRAIN_FILE, load_training_alignments, run_eflomal, symmetrise
from .alignments import Links, write_pharaoh
from .corpus import HSK, orient
from .data import Pair
from .nets.base import ARGMAX, Encoded, Family, Pick, Step
from .tokenize import Tokenizer
from .translator import Translator

DISTILLED_FILE = "distilled.json"
KINDS = ("forward", "back")


def distilled_id(folder: int, pair_id: str) -> str:
    """The id of a teacher pair from the ``folder``-th distillation folder (the reference pair
    keeps the plain id)."""
    return f"kd{folder}:{pair_id}"


class Ensemble(nn.Module):
    """The step protocol over several models of one direction that share their vocabularies:
    each step's log-probabilities are the log of the members' mean probability (n, V); state and
    encoder memory are the members' own, in a list; attention maps are the first member's."""

    def __init__(self, members: list[Family]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.config = members[0].config
        self.has_posterior = False

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        encs = [m.encode(src, lengths) for m in self.members]
        return Encoded(encs[0].mask, [e.memory for e in encs], encs[0].maps)

    def start(self, enc: Encoded) -> list:
        return [m.start(Encoded(enc.mask, mem, {})) for m, mem in zip(self.members, enc.memory)]

    def step(self, y_prev: torch.Tensor, state: list, enc: Encoded, pick: Pick = ARGMAX) -> Step:
        outs = [m.step(y_prev, s, Encoded(enc.mask, mem, {}), pick) for m, s, mem in zip(self.members, state, enc.memory)]
        logp = torch.stack([torch.log_softmax(o.logits.float(), -1) for o in outs])  # (M, n, V)
        return Step(torch.logsumexp(logp, 0) - math.log(len(outs)), [o.state for o in outs], outs[0].maps)

    def alignment(self, cross: torch.Tensor) -> torch.Tensor:
        return self.members[0].alignment(cross)

    def alignment_of(self, maps: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.members[0].alignment_of(maps)

    def max_len(self, n: int) -> int:
        return self.members[0].max_len(n)


def ensemble(translators: list[Translator]) -> Translator:
    """One translator decoding with the mean distribution of ``translators`` (one: itself).
    Raises ValueError when their directions or vocabularies differ."""
    first = translators[0]
    for t in translators[1:]:
        if t.direction != first.direction or t.src_vocab.itos != first.src_vocab.itos or t.tgt_vocab.itos != first.tgt_vocab.itos:
            raise ValueError("the teachers must share one direction and one vocabulary (models trained on the same corpus and direction)")
    if len(translators) == 1:
        return first
    return Translator(Ensemble([t.model for t in translators]).eval(), first.src_vocab, first.tgt_vocab, first.src_tokenizer,
                      first.tgt_tokenizer, first.src_lang, first.tgt_lang)


def teacher_name(path: str | Path, translator: Translator) -> str:
    """How a distillation record names a teacher: its model name and training seed."""
    name = translator.meta.get("name") or Path(path).stem
    seed = translator.meta.get("training", {}).get("seed")
    return f"{name} (seed {seed})" if seed is not None else str(name)


def distill(teacher: Translator, pairs: list[Pair], beam: int, back: bool = False) -> list[Pair]:
    """``pairs`` with each target replaced by the teacher's beam-search translation of its source;
    ``back``: with each source replaced by the teacher's translation of its target (the teacher
    is then of the opposite direction)."""
    if back:
        return [Pair(out, p.tgt, p.id) for p, out in zip(pairs, teacher.translate_batch([p.tgt for p in pairs], beam=beam))]
    return [Pair(p.src, out, p.id) for p, out in zip(pairs, teacher.translate_batch([p.src for p in pairs], beam=beam))]


def guided_links(pairs: list[Pair], direction: str) -> list:
    """eflomal grow-diag-final-and links of ``pairs`` (the model's direction) in the corpus's en-zh
    order. The aligner also reads the corpus's own pairs, since it learns more from more text."""
    natural = [orient(p, direction, HSK.natural) for p in pairs]
    extra = [p for split in HSK.splits(HSK.natural).values() for p in split]
    both = natural + extra
    tok = Tokenizer()  # the project's tokens, as the bundled aligner files use
    fwd, rev = run_eflomal([tok.tokenize(p.src) for p in both], [tok.tokenize(p.tgt) for p in both])
    return [symmetrise(f, r, "gdfa") for f, r in zip(fwd[: len(pairs)], rev[: len(pairs)])]


def write_distilled(
    out: str | Path, direction: str, teachers: list[str], beam: int, pairs: list[Pair], links: list, kind: str = "forward"
) -> Path:
    """The files ``train --distilled`` reads (module docstring), for a student of ``direction``;
    returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"direction": direction, "kind": kind, "teachers": teachers, "beam": beam,
              "pairs": [{"id": p.id, "src": p.src, "tgt": p.tgt} for p in pairs]}
    (out / DISTILLED_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=0), encoding="utf-8")
    (out / "train.ids").write_text("".join(f"{p.id}\n" for p in pairs), encoding="utf-8")
    write_pharaoh(out / TRAIN_FILE, links)
    return out


def read_distilled(
    folders: list[str | Path], direction: str, train: list[Pair], with_references: bool = False
) -> tuple[list[Pair], list[dict]]:
    """Training pairs from the teachers of ``folders``: their pairs for the ids of ``train``
    (ids prefixed by ``distilled_id``; pairs ``train`` lacks or with an empty side are dropped),
    or, ``with_references``, ``train`` plus the teachers' pairs that differ from their
    references. Also each record's description (direction, kind, teachers, beam). Raises
    ValueError on a folder of another direction or one that is not a distillation folder."""
    references = {p.id: p for p in train}
    taught: list[Pair] = []
    abouts = []
    for n, folder in enumerate(folders):
        path = Path(folder) / DISTILLED_FILE
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            pairs = [Pair(str(x["src"]), str(x["tgt"]), str(x["id"])) for x in record["pairs"]]
            about = {"direction": str(record["direction"]), "kind": str(record.get("kind", "forward")),
                     "teachers": [str(t) for t in record["teachers"]], "beam": int(record["beam"])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a distillation file written by 'python -m models distill' ({exc})") from None
        if about["direction"] != direction:
            raise ValueError(f"{path} was distilled for {about['direction']}, not {direction}")
        if about["kind"] not in KINDS:
            raise ValueError(f"{path}: unknown kind {about['kind']!r} (expected one of {', '.join(KINDS)})")
        mine = [p for p in pairs if p.id in references and p.src.strip() and p.tgt.strip()]
        if not mine:
            raise ValueError(f"{path}: no training pair has a teacher translation")
        if with_references:
            mine = [p for p in mine if (p.src, p.tgt) != (references[p.id].src, references[p.id].tgt)]
        taught += [Pair(p.src, p.tgt, distilled_id(n, p.id)) for p in mine]
        abouts.append(about)
    return (train + taught if with_references else taught), abouts


def _corpus_id(pair_id: str) -> str:
    """The corpus id of a teacher pair's id (``distilled_id``'s inverse)."""
    return pair_id.split(":", 1)[1]


def distilled_links(folders: list[str | Path], direction: str, train: list[Pair]) -> dict[str, Links]:
    """The aligner links of ``folders`` for the teacher pairs among ``train`` (ids from
    ``distilled_id``), keyed by those ids, in the model's (source, target) order."""
    out: dict[str, Links] = {}
    for n, folder in enumerate(folders):
        prefix = distilled_id(n, "")
        taught = [Pair(p.src, p.tgt, _corpus_id(p.id)) for p in train if p.id.startswith(prefix)]
        if not taught:  # every pair of the folder equals its reference
            continue
        found = load_training_alignments(str(Path(folder) / TRAIN_FILE), taught, direction)
        out |= {distilled_id(n, k): v for k, v in found.items()}
    return out
