"""The open questions about an uploaded file, asked on the Data page before it is loaded.

``kpi.questions.questions_for`` finds the choices that change the numbers (cents or units, which
date column, which issues are defects, day or month first, the account's time zone) and works out
what each option gives; ``ask`` shows one radio per question with that effect under each option
and returns the answers for ``kpi.ingest.ingest_file(..., answers=...)``.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from kpi.questions import Question
from ui.text import plain


def ask(questions: Sequence[Question], key: str = "ingest_q") -> dict[str, str]:
    """One radio per question, each option captioned with its effect; returns {question id: value}.

    ``key`` prefixes the widget keys: give each file its own (the answers then survive reruns).
    """
    answers: dict[str, str] = {}
    if not questions:
        return answers
    st.markdown("**Before loading, a few choices that change the numbers**")
    for q in questions:
        values = [o.value for o in q.options]
        labels = {o.value: plain(o.label) for o in q.options}
        # questions, options and effects name the file's columns and quote its values: shown as written
        answers[q.id] = st.radio(
            plain(q.text), values, index=values.index(q.default) if q.default in values else 0,
            format_func=lambda v, labels=labels: labels[v],
            captions=[plain(o.effect) for o in q.options], help=plain(q.help) if q.help else None,
            key=f"{key}:{q.id}")
    return answers
