"""The bundled models: one command retrains them all and regenerates the README results table.

    python -m models bundle [--only NAME ...] [--jobs 2]   # retrain (then runs `report`)
    python -m models report                                # table from the checkpoints' metrics

Every figure in the table is read from the ``metrics.test`` block that training wrote into each
checkpoint (``python -m models evaluate`` on the test split gives the same numbers).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import CHECKPOINTS as CHECKPOINT_DIR
from .paths import DISTILLED, EVERYDAY, README

if TYPE_CHECKING:
    from .translator import Translator

GUIDED_LAMBDA = 1.0
START, END = "<!-- results:start -->", "<!-- results:end -->"


# The Transformer recipe: the size and schedule that trained best per epoch here (docs/2026-12-05-measurements.md).
# Its dev loss flattens (label smoothing) while its dev BLEU still rises, so the epoch kept, the
# plateau schedule and early stopping follow dev BLEU, over up to 40 epochs with patience 8
# (docs/2026-12-05-seeds-speed-load.md, docs/2026-12-05-distillation-selection.md)
TRANSFORMER_ARGS = ["--family", "transformer", "--layers", "2", "--heads", "4", "--hidden", "256", "--ff-dim", "512",
                    "--dropout", "0.2", "--lr", "2e-3", "--warmup", "130", "--epochs", "40", "--patience", "8", "--select", "bleu"]


@dataclass(frozen=True)
class Spec:
    direction: str = "en-zh"
    scorer: str = "additive"
    mode: str = "soft"
    guided: float = 0.0
    guided_context: float = 0.0
    seed: int = 1
    family: str = "rnn"
    distilled: bool = False  # trained on the references plus the teacher's translations in DISTILLED/<direction>
    rdrop: float = 0.0  # R-Drop's alpha (train --rdrop); 0: off
    rdrop_from: int = 1  # the first epoch with R-Drop (train --rdrop-from)
    length_alpha: float | None = None  # the model's own beam ranking (train --length-alpha); None: the default
    tatoeba_epochs: int = 0  # Tatoeba's pairs join the training data for this many epochs (train --tatoeba --tatoeba-epochs); 0: never

    @property
    def name(self) -> str:
        network = "transformer" if self.family == "transformer" else f"{self.scorer}-{self.mode}"
        return f"{self.direction}-{network}" + ("-guided" if self.guided else "")

    def args(self, out_dir: Path) -> list[str]:
        a = ["train", "--corpus", "hsk", "--direction", self.direction, "--seed", str(self.seed), "--lexicon", "--no-progress",
             "--out", str(out_dir / f"{self.name}.safetensors")]
        a += TRANSFORMER_ARGS if self.family == "transformer" else ["--scorer", self.scorer, "--mode", self.mode]
        a += ["--guided-alignment", str(self.guided)] if self.guided else []
        a += ["--distilled", str(DISTILLED / self.direction), "--with-references"] if self.distilled else []
        a += ["--rdrop", str(self.rdrop)] if self.rdrop else []
        a += ["--rdrop-from", str(self.rdrop_from)] if self.rdrop and self.rdrop_from > 1 else []
        a += ["--length-alpha", str(self.length_alpha)] if self.length_alpha is not None else []
        a += ["--tatoeba", "--tatoeba-epochs", str(self.tatoeba_epochs)] if self.tatoeba_epochs else []
        return a + (["--guided-context", str(self.guided_context)] if self.guided_context else [])


BUNDLED = [  # in training order
    Spec(),
    Spec(direction="zh-en", guided=GUIDED_LAMBDA),  # unguided it reached 8.9 test BLEU (greedy), guided en-zh gained 3
    Spec(guided=GUIDED_LAMBDA),
    *(Spec(scorer=s) for s in ("dot", "scaled_dot", "general", "cosine")),
    Spec(mode="hard"),
    # the linked-context loss: lowest mean dev AER of the alignment posterior over 5 seeds; seed 5: the lowest of them (README)
    Spec(scorer="dot", guided=GUIDED_LAMBDA, guided_context=GUIDED_LAMBDA, seed=5),
    Spec(family="transformer"),  # unguided, beside the guided one: what guided alignment adds (docs/2026-12-05-seeds-speed-load.md)
    # one head of the penultimate layer supervised (Garg et al. 2019); distilled: the references plus the
    # translations of nine en-zh models (GRU and Transformer seeds; docs/2026-12-05-fifth-session.md);
    # Tatoeba's 33,460 sentence pairs for the first 15 epochs, then the HSK data alone
    # (docs/2026-12-06-tenth-session.md); beams ranked by score / length ** 1.5, the best on dev
    # over the three seeds of the recipe before Tatoeba (docs/2026-12-05-eighth-session.md); seed 3,
    # the best of three on dev (docs/2026-12-06-eleventh-session.md)
    Spec(family="transformer", guided=GUIDED_LAMBDA, distilled=True, length_alpha=1.5, tatoeba_epochs=15, seed=3),
    # unguided: dev loss stalled at 4.4, dev BLEU ~1. Distilled: the references plus the translations
    # of an ensemble of three zh-en Transformers, the seeds of the previous round of this recipe (a
    # third round: docs/2026-12-05-ninth-session.md); Tatoeba's pairs for the first 20 epochs, then the
    # HSK data alone with R-Drop (alpha 1), the best on dev (docs/2026-12-06-twelfth-session.md; 20
    # epochs rather than 15: docs/2026-12-06-fifteenth-session.md); beams ranked by score / length ** 2,
    # the best on dev over the three seeds of the recipe before Tatoeba; seed 3, the best of five on dev
    Spec(family="transformer", direction="zh-en", guided=GUIDED_LAMBDA, distilled=True, rdrop=1.0, rdrop_from=21, length_alpha=2.0,
         tatoeba_epochs=20, seed=3),
]


def retrain(out_dir: Path = CHECKPOINT_DIR, only: list[str] | None = None, jobs: int = 1, seed: int | None = None) -> int:
    """Train every bundled model (or ``only`` those names), ``jobs`` at a time; logs beside them.
    With ``seed``, each recipe with that seed instead of its own (another run of the recipe, for
    ``bench/seeds.py``); the README's results table is regenerated only from the bundled folder."""
    specs = [s if seed is None else replace(s, seed=seed) for s in BUNDLED if not only or s.name in only]
    unknown = set(only or ()) - {s.name for s in BUNDLED}
    if unknown:
        raise ValueError(f"unknown bundled model(s) {sorted(unknown)}; known: {[s.name for s in BUNDLED]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | ({"OMP_NUM_THREADS": "1"} if jobs > 1 else {})

    def run(spec: Spec) -> int:
        t0 = time.perf_counter()
        with open(out_dir / f"{spec.name}.log", "w") as log:
            rc = subprocess.call([sys.executable, "-m", "models", *spec.args(out_dir)], stdout=log, stderr=subprocess.STDOUT, env=env)
        print(f"{spec.name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.perf_counter() - t0:.0f}s", flush=True)
        return rc

    with ThreadPoolExecutor(jobs) as pool:
        failed = sum(rc != 0 for rc in pool.map(run, specs))
    if out_dir.resolve() == CHECKPOINT_DIR.resolve():
        write_report(out_dir)
    return 1 if failed else 0


COLUMNS = [  # (column, metric key); AER columns show their 95% bootstrap interval where stored
    ("model", None), ("BLEU", "bleu"), ("BLEU beam 5", "bleu_beam5"), ("chrF", "chrf"), ("AER attention", "aer"),
    ("AER shifted", "aer_shift"), ("AER best head", "head_aer"), ("AER best head shifted", "head_aer_shift"), ("AER posterior", "aer_posterior"), ("eflomal AER", "eflomal_aer"), ("gloss-rule AER", "gloss_aer"),
    ("diagonal AER", "diagonal_aer"), ("entropy", "entropy"), ("final-token share", "final_token_share"), ("EOS share", "eos_share"),
    ("params", None),
]


def _cell(m: dict, key: str) -> str:
    v = m.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):  # missing, or not a figure (a checkpoint's metadata is untrusted)
        return "–"
    if key in ("bleu", "bleu_beam5", "chrf"):
        return f"{v:.2f}"
    if all(isinstance(m.get(f"{key}_{end}"), (int, float)) for end in ("low", "high")):
        return f"{v:.3f} [{m[key + '_low']:.3f}, {m[key + '_high']:.3f}]"
    return f"{v:.3f}"


def checkpoints_in(ckpt_dir: Path) -> list[tuple[Path, Translator]]:
    """Every checkpoint in a folder, by file name; a file that does not load is named in the error."""
    from .checkpoint import CheckpointError, load_checkpoint

    paths = sorted(ckpt_dir.glob("*.safetensors"))
    if not paths:
        raise ValueError(f"no .safetensors files in {ckpt_dir}")
    out = []
    for path in paths:
        try:
            out.append((path, load_checkpoint(path)))
        except CheckpointError as exc:
            raise CheckpointError(f"{path.name}: {exc}") from None
    return out


def results_table(ckpt_dir: Path = CHECKPOINT_DIR) -> str:
    """Markdown table of every checkpoint's stored test metrics (AER against the gold alignments)."""
    rows = ["| " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for path, tr in checkpoints_in(ckpt_dir):
        m = tr.meta["metrics"].get("test", {})
        cells = [f"`{path.stem}`", *(_cell(m, key) for _, key in COLUMNS[1:-1]), f"{tr.num_parameters / 1e6:.2f}M"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def replace_block(path: Path, start: str, end: str, body: str) -> None:
    """Replace what lies between the markers ``start`` and ``end`` in the text file ``path``."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{path} lacks the {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")


def write_report(ckpt_dir: Path = CHECKPOINT_DIR, readme: Path = README) -> None:
    """Replace the README's results block (between the markers) with a fresh table."""
    replace_block(readme, START, END, results_table(ckpt_dir))
    print(f"updated the results table in {readme}")


EVERYDAY_START, EVERYDAY_END = "<!-- everyday:start -->", "<!-- everyday:end -->"
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def everyday_pairs(path: Path = EVERYDAY) -> list[tuple[str, str]]:
    """The everyday sentences (English, Chinese); refused if either side is in the HSK corpus."""
    from .data import _norm, load_hsk

    pairs = [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{path}: every line must be 'English<TAB>Chinese'")
    hsk = load_hsk()
    seen = {_norm(e.en) for e in hsk} | {_norm(e.zh) for e in hsk}
    inside = [en for en, zh in pairs if _norm(en) in seen or _norm(zh) in seen]
    if inside:
        raise ValueError(f"{path}: these sentences are in the HSK corpus: {inside}")
    return pairs


def everyday_table(ckpt_dir: Path = CHECKPOINT_DIR, path: Path = EVERYDAY) -> str:
    """Markdown tables (one per direction) of every bundled model's translation of the everyday
    sentences, by beam search of the app's default width; the sentence's own translation is the
    reference column."""
    from .translator import REPORTED_BEAM

    pairs = everyday_pairs(path)
    models = [(p.stem, tr) for p, tr in checkpoints_in(ckpt_dir)]
    blocks = []
    for direction in sorted({tr.direction for _, tr in models}):
        chosen = [(name, tr) for name, tr in models if tr.direction == direction]
        src, ref = (0, 1) if direction.startswith("en") else (1, 0)
        outputs = [tr.translate_batch([p[src] for p in pairs], beam=REPORTED_BEAM) for _, tr in chosen]
        head = ["source", "reference", *(f"`{name}`" for name, _ in chosen)]
        rows = [f"**{direction}** (beam search, {REPORTED_BEAM} beams, as the app opens)", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for i, p in enumerate(pairs):
            cells = [p[src], p[ref], *(out[i] for out in outputs)]
            rows.append("| " + " | ".join(c.translate(_MD_SPECIAL) or "–" for c in cells) + " |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def write_examples(ckpt_dir: Path = CHECKPOINT_DIR, readme: Path = README, path: Path = EVERYDAY) -> None:
    """Replace the README's everyday block (between the markers) with fresh translations."""
    replace_block(readme, EVERYDAY_START, EVERYDAY_END, everyday_table(ckpt_dir, path))
    print(f"updated the everyday examples in {readme}")
