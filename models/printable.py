"""Text from files made safe to print: to a terminal, or into an exported file."""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (category Cc)


def printable(text: str, keep: str = "") -> str:
    """``text`` with each control character (ESC and the rest of C0, DEL, C1 such as CSI
    U+009B), except those in ``keep``, written as a visible ``\\uXXXX`` escape: a checkpoint's
    tokens or a file name can then never move a terminal's cursor, recolour or clear it, or make
    an exported file ill-formed. In JSON text the escape stays valid JSON."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else f"\\u{ord(m.group()):04x}", text)
