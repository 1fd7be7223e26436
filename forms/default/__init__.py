"""Pintu's default first-visit form (built by build_default.py)."""
from pathlib import Path

DEFAULT_FORM = Path(__file__).resolve().parent / "regsosek_first_visit.xlsx"
