"""The form the bot runs, read again when its file changes; a broken new version never replaces a good one.

    source = FormSource("forms/regsosek.xlsx")   # or FormSource(None): the default first-visit form
    form = source.current()                      # the newest good version (FormError if none ever was)
    source.problems                              # what is wrong with the file on disk, row by row

Field staff edit the spreadsheet while the bot runs. Each ``current()`` looks at the file's size and
modification time (a stat); when they change the file is compiled again (forms.form, cached per
version). If the new version has errors, they are logged with their rows, kept in ``problems``, and the
last good form keeps running, so a typo in a spreadsheet never stops a questionnaire in progress.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from forms.default import DEFAULT_FORM
from forms.form import Form
from forms.problems import FormError, Problem

log = logging.getLogger(__name__)


class FormSource:
    """One XLSForm file and the last good Form read from it."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else DEFAULT_FORM
        self.problems: tuple[Problem, ...] = ()
        self._good: Form | None = None
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the version last tried
        self._lock = threading.Lock()

    def current(self) -> Form:
        """The newest version of the file that compiles; FormError when no version ever did."""
        try:
            stat = self.path.stat()
            seen = (stat.st_mtime_ns, stat.st_size)
        except OSError as error:
            return self._keep([Problem(f"The file cannot be read: {error}")])
        if seen == self._seen and self._good is not None:
            return self._good
        with self._lock:
            if seen == self._seen and self._good is not None:
                return self._good
            self._seen = seen
            try:
                form = Form.load(self.path)
            except FormError as error:
                return self._keep(list(error.problems))
            self._good, self.problems = form, form.warnings
            return form

    def _keep(self, problems: list[Problem]) -> Form:
        """Log what is wrong (once per version) and go on with the last good form, if there is one."""
        if tuple(problems) != self.problems:
            self.problems = tuple(problems)
            errors = [str(p) for p in problems if p.is_error]
            log.error("the form %s has %d error(s); %s: %s", self.path.name, len(errors),
                      "the previous version keeps running" if self._good else "no version can run",
                      "; ".join(errors))
        if self._good is None:
            raise FormError(problems)
        return self._good


_sources: dict[str, FormSource] = {}
_sources_lock = threading.Lock()


def form_source(path: str | os.PathLike[str] | None = None) -> FormSource:
    """The process's one FormSource for ``path`` (None or "": the default form)."""
    key = str(Path(path).resolve()) if path else ""
    with _sources_lock:
        if key not in _sources:
            _sources[key] = FormSource(path or None)
        return _sources[key]
