"""Every path to the project's bundled assets, defined once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CHECKPOINTS = ASSETS / "checkpoints"  # bundled models
DISTILLED = ASSETS / "distilled"  # teachers' translations of the training split (python -m models distill), one folder per direction
ALIGNMENTS = ASSETS / "alignments"  # gold, eflomal and split ids (Pharaoh, English-Chinese order)
EXAMPLES = ASSETS / "examples.json"  # curated test sentences with a note each
STYLE = ASSETS / "style.css"
ICON = ASSETS / "icon.png"
EVERYDAY = ASSETS / "everyday.txt"  # everyday sentences outside the corpus (python -m models examples)
README = ROOT / "README.md"  # its results and everyday tables are generated (report, examples)
