"""Which answers of a record hold a NIK: the one naming rule that encryption at rest (storage/crypto.py)
and the search for one NIK in two families (domain/records.py) share.

A NIK is any answer whose name ends in ``nik`` (``nik``, ``member_nik``, ``member_nik[3]``, case
ignored), wherever the form puts it, nested in a roster's lists too (docs/trust.md).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def is_nik_name(key: Any) -> bool:
    return isinstance(key, str) and key.split("[", 1)[0].casefold().endswith("nik")


def nik_values(answers: Any) -> Iterator[str]:
    """Every non-empty text answer under a NIK name, in a record's answers or a roster inside them."""
    if isinstance(answers, dict):
        for key, value in answers.items():
            if is_nik_name(key) and isinstance(value, str):
                if value.strip():
                    yield value.strip()
            else:
                yield from nik_values(value)
    elif isinstance(answers, list):
        for item in answers:
            yield from nik_values(item)


def roster_niks(answers: Any) -> set[str]:
    """The well-formed NIKs (16 digits) among a record's answers."""
    return {nik for nik in nik_values(answers) if len(nik) == 16 and nik.isdigit()}
