"""Text from files made safe to print: to a terminal, or into an exported file."""

from __future__ import annotations

import re

# Unicode's control characters (category Cc) and the bidirectional controls (embeddings,
# overrides, isolates and marks), which reorder the text that follows them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, keep: str = "") -> str:
    """``text`` with each control character (ESC and the rest of C0, DEL, C1 such as CSI
    U+009B) and each bidirectional control (U+202E turns the rest of a line around), except those
    in ``keep``, written as a visible ``\\uXXXX`` escape: a checkpoint's tokens, a sentence or a
    file name can then never move a terminal's cursor, recolour or clear it, reorder a title or
    a file's text, or make an exported file ill-formed. In JSON text the escape stays valid JSON."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else f"\\u{ord(m.group()):04x}", text)
