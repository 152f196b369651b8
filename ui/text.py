"""Text that a user or a file wrote, made safe to put inside anything Streamlit renders as Markdown.

Streamlit renders Markdown (with its own extras: ``:red[...]`` colours, ``:material/...:`` icons,
``$...$`` maths, bare links) in ``st.markdown``, captions, titles, alerts, toasts, metric and
widget labels, expander and tab labels, radio options and help tooltips. A workspace name, an
objective, a custom KPI's name, a column header or a value from a file may hold any of that —
``![x](http://evil/x.png)`` would make every viewer's browser fetch an image. So every such string
goes through :func:`plain` on its way into one of those places, and shows exactly as written.

Places that show text as text (``st.text``, ``st.code``, table cells, selectbox and multiselect
options, chart titles) take the string as it is: escaping there would show the backslashes.
"""
from __future__ import annotations

import re

# The characters that start a Markdown construct anywhere in a line: code, emphasis, links and
# images, HTML and entities, strikethrough, tables, maths, headings. Escaped, each shows as itself.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$&])")
# A list marker or a numbered item at the start of the text.
_LINE_START = re.compile(r"^(\s*)(?:([-+])(?=\s|$)|(\d+)([.)])(?=\s|$))")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
# Some constructs are found in the text after escapes are read, so a backslash cannot stop them:
# bare addresses turned into links (http://..., www...., a@b.c) and Streamlit's :material/...: icons,
# :smile: emoji and :red[...] colours. An invisible word joiner (U+2060) breaks each pattern.
_TEXT_PATTERNS = re.compile(r"(?<=:)(?=[\w/+-])|(?i:(?<=\bwww)(?=\.))|(?<=@)")
WORD_JOINER = "\u2060"


def plain(text) -> str:
    """``text`` shown literally inside Markdown, on one line (a line break would start a new
    block: a heading, a list, a quote), with no address turned into a link nor name into an icon."""
    out = _LINE_BREAKS.sub(" ", str(text))
    out = _SPECIAL.sub(r"\\\1", _TEXT_PATTERNS.sub(WORD_JOINER, out))
    return _LINE_START.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"),
                           out)
