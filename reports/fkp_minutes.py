"""The public consultation's minutes (berita acara) and FKP list as a PDF (fpdf2), from plain data.

The FKP flow gathers what happened into a :class:`ForumMinutes` and calls :func:`render_minutes_pdf`;
nothing here reads the database or the clock, so the same minutes always give the same document
(fpdf2's creation date is fixed to the forum's own time). The blocks follow BPS's FKP list and minutes:

  I    area identity (province, kab/kota, kecamatan, desa/kelurahan; forum n of m; date, time, place)
  II   families per welfare group before and after the forum, per SLS and in total, and the added families
  III  attendance (name, role, present)
  IV   the forum's decisions (SLS, family head, from group, to group, reason, accepted or rejected and why)
  V    the families added to the list (SLS, name, status)
  VI   notes
  VII  the statement, the signature lines (facilitator, assistants, participants) and the lurah's stamp box
  then, on new pages, the FKP list: the families of each SLS with their final group (never the score).

Every text comes from the catalog (chat/locales/*/LC_MESSAGES/fkp.po), Indonesian by default.

The font is Lato (SIL Open Font License 1.1, from the ``font-lato`` package, a dependency): the same file
on every machine. It draws Western European letters only, so Debian's DejaVu Sans (fonts-dejavu-core),
when installed, is the fallback for the rest ("Şükrü" prints as written). A character no font can draw
is printed as its unaccented letter (Ş as S) or "?", never silently dropped; with neither font present
fpdf2's built-in Helvetica (Latin-1) is used the same way.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chat.i18n import Translator
from domain.ranking import GROUP_KEYS

GROUPS = (1, 2, 3, 4)
ROLE_KEYS = {"facilitator": "fkp-role-facilitator", "assistant": "fkp-role-assistant",
             "administrator": "fkp-role-administrator", "sls_head": "fkp-role-sls-head",
             "figure": "fkp-role-figure"}
ADDED_STATUS_KEYS = {"present": "fkp-added-present", "moved": "fkp-added-moved", "died": "fkp-added-died",
                     "not_found": "fkp-added-not-found"}
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


# --- what the minutes say ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AreaName:
    code: str
    name: str


@dataclass(frozen=True)
class ForumArea:
    province: AreaName
    kabkota: AreaName
    kecamatan: AreaName
    kelurahan: AreaName


@dataclass(frozen=True)
class SlsCounts:
    """One SLS's families per welfare group 1–4 before and after the forum, and the families added."""

    sls_code: str
    sls_name: str
    before: tuple[int, int, int, int]
    after: tuple[int, int, int, int]
    added: int = 0


@dataclass(frozen=True)
class Attendee:
    name: str
    role: str  # facilitator | assistant | administrator | sls_head | figure (else shown as given)
    present: bool


@dataclass(frozen=True)
class Decision:
    sls: str  # the SLS's name or code, as the list shows it
    family_head: str
    from_group: int
    to_group: int
    reason: str
    accepted: bool
    rejection_reason: str | None = None


@dataclass(frozen=True)
class AddedFamily:
    sls: str
    name: str
    status: str  # present | moved | died | not_found (else shown as given)


@dataclass(frozen=True)
class FinalFamily:
    name: str
    final_group: int


@dataclass(frozen=True)
class SlsFamilies:
    sls_code: str
    sls_name: str
    families: tuple[FinalFamily, ...]


@dataclass(frozen=True)
class ForumMinutes:
    area: ForumArea
    forum_number: int  # this forum's number in the kelurahan ...
    forum_count: int  # ... of how many (one per up to 12 SLS)
    held_at: dt.datetime  # the forum's start, aware, in the area's local time
    zone_label: str  # WIB | WITA | WIT
    place: str
    counts: tuple[SlsCounts, ...]
    attendance: tuple[Attendee, ...]
    decisions: tuple[Decision, ...]
    added: tuple[AddedFamily, ...]
    families: tuple[SlsFamilies, ...]
    facilitator: str
    assistants: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    notes: str = ""
    lurah_title: str = ""  # e.g. "Lurah"; default: the catalog's "Lurah/Kepala Desa"


def total_counts(counts: Sequence[SlsCounts]) -> SlsCounts:
    """The forum's totals over its SLS."""
    return SlsCounts("", "", tuple(sum(c.before[i] for c in counts) for i in range(4)),  # type: ignore[arg-type]
                     tuple(sum(c.after[i] for c in counts) for i in range(4)),  # type: ignore[arg-type]
                     sum(c.added for c in counts))


# --- rendering -----------------------------------------------------------------------------------------

@dataclass
class _Font:
    family: str
    files: dict[str, Path] = field(default_factory=dict)  # style ("", "B", "I") -> TTF; empty: built-in


def _fonts() -> list[_Font]:
    """The fonts to use, the first for everything, the others for the characters it lacks."""
    found = []
    try:
        from importlib.resources import files

        folder = Path(str(files("font_lato") / "files"))
        lato = {"": folder / "Lato-Regular.ttf", "B": folder / "Lato-Bold.ttf", "I": folder / "Lato-Italic.ttf"}
        if all(path.is_file() for path in lato.values()):
            found.append(_Font("Lato", lato))
    except ModuleNotFoundError:
        pass
    dejavu = {"": DEJAVU / "DejaVuSans.ttf", "B": DEJAVU / "DejaVuSans-Bold.ttf", "I": DEJAVU / "DejaVuSans-Oblique.ttf"}
    if all(path.is_file() for path in dejavu.values()):
        found.append(_Font("DejaVu", dejavu))
    return found or [_Font("Helvetica")]


@lru_cache(maxsize=8)
def _coverage(paths: tuple[Path, ...]) -> frozenset[int] | None:
    """The code points the fonts can draw (None: the built-in font, Latin-1)."""
    if not paths:
        return None
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for path in paths:
        covered.update(TTFont(str(path), lazy=True).getBestCmap())
    return frozenset(covered)


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.font_family, "I", 8)
        self.cell(0, 6, self.footer_text.replace("{page}", str(self.page_no())), align="C")


class _Writer:
    """The blocks, one method each, on one fpdf2 document."""

    def __init__(self, minutes: ForumMinutes, lang: str) -> None:
        self.m = minutes
        self.lang = lang if lang in ("id", "en") else "id"
        self.t = Translator(self.lang)
        fonts = _fonts()
        self.family = fonts[0].family
        self.covered = _coverage(tuple(f.files[""] for f in fonts if f.files))
        pdf = _Document(orientation="P", unit="mm", format="A4")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_creation_date(minutes.held_at)  # reproducible: the same minutes, the same bytes
        for font in fonts:
            for style, path in font.files.items():
                pdf.add_font(font.family, style, str(path))
        if len(fonts) > 1:  # Lato has Western European letters only; DejaVu draws the rest (Ş, ğ, ...)
            pdf.set_fallback_fonts([f.family for f in fonts[1:]], exact_match=False)
        pdf.set_title(self.text("fkp-pdf-title-minutes"))
        pdf.set_author("Pintu")
        pdf.alias_nb_pages("{nb}")
        pdf.footer_text = self.text("fkp-pdf-page", page="{page}", pages="{nb}")
        self.pdf = pdf

    # -- texts ------------------------------------------------------------------------------------------
    def text(self, key: str, **args: object) -> str:
        """A catalog text, its arguments as given (a PDF is not HTML: nothing to escape)."""
        return self.safe(self.t.raw(key, **args))

    def safe(self, value: object) -> str:
        """The text with each character no font can draw replaced by its unaccented letter (Ş -> S), or
        by "?" when it has none: a missing glyph would print as nothing."""
        text = str(value)
        drawable = (lambda c: ord(c) < 256) if self.covered is None else (lambda c: ord(c) in self.covered)
        if all(drawable(c) or c in "\n\t" for c in text):
            return text
        out = []
        for c in text:
            if drawable(c) or c in "\n\t":
                out.append(c)
                continue
            base = "".join(b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b))
            out.append(base if base and all(drawable(b) for b in base) else "?")
        return "".join(out)

    def group(self, group: int) -> str:
        return self.text("fkp-pdf-group-short", group=group)

    def role(self, role: str) -> str:
        return self.text(ROLE_KEYS[role]) if role in ROLE_KEYS else self.safe(role)

    # -- primitives -------------------------------------------------------------------------------------
    def font(self, style: str = "", size: float = 10) -> None:
        self.pdf.set_font(self.family, style, size)

    def heading(self, key: str) -> None:
        self.pdf.ln(3)
        self.font("B", 10.5)
        self.pdf.multi_cell(0, 6, self.text(key), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font("", 9.5)

    def paragraph(self, text: str) -> None:
        self.font("", 9.5)
        self.pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[int],
              aligns: Sequence[str] | None = None) -> None:
        self.font("", 8.5)
        with self.pdf.table(col_widths=tuple(widths), text_align=tuple(aligns or ["LEFT"] * len(widths)),
                            line_height=4.6, padding=0.8, first_row_as_headings=True,
                            headings_style=_headings(self.family)) as table:
            heading = table.row()
            for cell in header:
                heading.cell(cell)
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.safe(value))

    # -- the blocks -------------------------------------------------------------------------------------
    def title(self, key: str) -> None:
        self.font("B", 13)
        self.pdf.multi_cell(0, 7, self.text(key), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font("", 9.5)
        self.pdf.multi_cell(0, 5, self.text("fkp-pdf-subtitle"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)

    def identity(self) -> None:
        m, area = self.m, self.m.area
        self.heading("fkp-pdf-block-identity")
        date = format_date(m.held_at.date(), "EEEE, d MMMM y", locale=self.lang)
        time = m.held_at.strftime("%H.%M" if self.lang == "id" else "%H:%M")
        lines = [(self.text("fkp-pdf-province"), f"{area.province.name} ({area.province.code})"),
                 (self.text("fkp-pdf-kabkota"), f"{area.kabkota.name} ({area.kabkota.code})"),
                 (self.text("fkp-pdf-kecamatan"), f"{area.kecamatan.name} ({area.kecamatan.code})"),
                 (self.text("fkp-pdf-kelurahan"), f"{area.kelurahan.name} ({area.kelurahan.code})"),
                 ("", self.text("fkp-pdf-forum", number=m.forum_number, count=m.forum_count)),
                 (self.text("fkp-pdf-when"), self.text("fkp-pdf-when-value", date=date, time=time, zone=m.zone_label)),
                 (self.text("fkp-pdf-place"), m.place)]
        for label, value in lines:
            self.font("", 9.5)
            self.pdf.cell(40, 5, label)
            self.pdf.multi_cell(0, 5, (": " if label else "  ") + self.safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)
        self.paragraph(self.text("fkp-pdf-opening"))

    def counts(self) -> None:
        self.heading("fkp-pdf-block-counts")
        before, after = self.text("fkp-pdf-col-before"), self.text("fkp-pdf-col-after")
        header = [self.text("fkp-pdf-col-sls"), *(f"{before} {self.group(g)}" for g in GROUPS),
                  *(f"{after} {self.group(g)}" for g in GROUPS), self.text("fkp-pdf-col-added")]
        rows = [[f"{c.sls_code} {c.sls_name}", *c.before, *c.after, c.added] for c in self.m.counts]
        total = total_counts(self.m.counts)
        rows.append([self.text("fkp-pdf-total"), *total.before, *total.after, total.added])
        self.table(header, rows, (40, *([15] * 8), 18), ("LEFT", *(["RIGHT"] * 9)))
        self.font("I", 8)
        self.pdf.multi_cell(0, 4.5, self.text("fkp-pdf-groups-legend"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def attendance(self) -> None:
        self.heading("fkp-pdf-block-attendance")
        yes, no = self.text("fkp-pdf-yes"), self.text("fkp-pdf-no")
        rows = [[n, a.name, self.role(a.role), yes if a.present else no]
                for n, a in enumerate(self.m.attendance, start=1)]
        self.table([self.text("fkp-pdf-col-no"), self.text("fkp-pdf-col-name"), self.text("fkp-pdf-col-role"),
                    self.text("fkp-pdf-col-present")], rows, (10, 80, 65, 25))

    def decisions(self) -> None:
        self.heading("fkp-pdf-block-decisions")
        if not self.m.decisions:
            self.paragraph(self.text("fkp-pdf-none"))
            return
        rows = [[n, d.sls, d.family_head, self.group(d.from_group), self.group(d.to_group), d.reason,
                 self.text("fkp-pdf-accepted") if d.accepted
                 else self.text("fkp-pdf-rejected", reason=d.rejection_reason or "-")]
                for n, d in enumerate(self.m.decisions, start=1)]
        self.table([self.text("fkp-pdf-col-no"), self.text("fkp-pdf-col-sls"), self.text("fkp-pdf-col-head"),
                    self.text("fkp-pdf-col-from"), self.text("fkp-pdf-col-to"), self.text("fkp-pdf-col-reason"),
                    self.text("fkp-pdf-col-decision")], rows, (9, 22, 40, 12, 12, 45, 40))

    def added(self) -> None:
        self.heading("fkp-pdf-block-added")
        if not self.m.added:
            self.paragraph(self.text("fkp-pdf-none"))
            return
        rows = [[n, a.sls, a.name, self.text(ADDED_STATUS_KEYS[a.status]) if a.status in ADDED_STATUS_KEYS
                 else a.status] for n, a in enumerate(self.m.added, start=1)]
        self.table([self.text("fkp-pdf-col-no"), self.text("fkp-pdf-col-sls"), self.text("fkp-pdf-col-name"),
                    self.text("fkp-pdf-col-status")], rows, (10, 40, 85, 45))

    def notes(self) -> None:
        self.heading("fkp-pdf-block-notes")
        self.paragraph(self.safe(self.m.notes.strip()) or self.text("fkp-pdf-none"))

    def statement(self) -> None:
        self.heading("fkp-pdf-block-statement")
        self.paragraph(self.text("fkp-pdf-statement"))
        self.pdf.ln(2)
        self.signature_lines("fkp-pdf-sign-facilitator", [self.m.facilitator])
        self.signature_lines("fkp-pdf-sign-assistants", list(self.m.assistants))
        self.signature_lines("fkp-pdf-sign-participants", list(self.m.participants))
        self.stamp_box()

    def signature_lines(self, key: str, names: list[str]) -> None:
        if not names:
            return
        self.font("B", 9.5)
        self.pdf.cell(0, 6, self.text(key), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font("", 9)
        column = (self.pdf.w - self.pdf.l_margin - self.pdf.r_margin) / 2
        for start in range(0, len(names), 2):
            if self.pdf.will_page_break(14):
                self.pdf.add_page()
            y = self.pdf.get_y()
            for offset, name in enumerate(names[start:start + 2]):
                x = self.pdf.l_margin + offset * column
                number = start + offset + 1
                self.pdf.set_xy(x, y + 8)
                self.pdf.cell(column - 8, 5, f"{number}. {self.safe(name)}", border="T")
            self.pdf.set_xy(self.pdf.l_margin, y + 14)
        self.pdf.ln(1)

    def stamp_box(self) -> None:
        if self.pdf.will_page_break(48):
            self.pdf.add_page()
        width = 75
        x = self.pdf.w - self.pdf.r_margin - width
        self.font("", 9.5)
        self.pdf.set_x(x)
        title = self.m.lurah_title or self.text("fkp-pdf-lurah")
        self.pdf.multi_cell(width, 5, self.text("fkp-pdf-stamp", title=title, kelurahan=self.m.area.kelurahan.name),
                            align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = self.pdf.get_y() + 1
        self.pdf.rect(x, y, width, 32)
        self.pdf.set_xy(x, y + 26)
        self.font("I", 8)
        self.pdf.cell(width, 5, self.text("fkp-pdf-stamp-box"), align="C")
        self.pdf.set_xy(self.pdf.l_margin, y + 34)

    def family_list(self) -> None:
        """The FKP list: each SLS's families with their final group, on pages of their own."""
        pdf = self.pdf
        pdf.add_page()
        self.title("fkp-pdf-title-list")
        self.heading("fkp-pdf-block-families")
        usable = pdf.w - pdf.l_margin - pdf.r_margin
        widths = (12, usable - 12 - 45, 45)
        for sls in self.m.families:
            if pdf.will_page_break(20):
                pdf.add_page()
            self.font("B", 9.5)
            pdf.cell(0, 6, self.text("fkp-pdf-sls-heading", code=sls.sls_code, name=sls.sls_name,
                                     count=len(sls.families)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self._family_header(widths)
            self.font("", 8.5)
            for number, family in enumerate(sls.families, start=1):
                if pdf.will_page_break(5):
                    pdf.add_page()
                    self._family_header(widths)
                    self.font("", 8.5)
                group = (f"{self.group(family.final_group)} {self.text(GROUP_KEYS[family.final_group])}"
                         if family.final_group in GROUP_KEYS else str(family.final_group))
                for width, value, align in zip(widths, (number, self.safe(family.name), group), ("R", "L", "L")):
                    pdf.cell(width, 4.8, str(value), border="B", align=align)
                pdf.ln(4.8)
            pdf.ln(3)

    def _family_header(self, widths: tuple[float, float, float]) -> None:
        self.font("B", 8.5)
        for width, key in zip(widths, ("fkp-pdf-col-no", "fkp-pdf-col-head", "fkp-pdf-col-final")):
            self.pdf.cell(width, 5.5, self.text(key), border="B", fill=False)
        self.pdf.ln(5.5)

    def render(self) -> bytes:
        self.pdf.add_page()
        self.title("fkp-pdf-title-minutes")
        self.identity()
        self.counts()
        self.attendance()
        self.decisions()
        self.added()
        self.notes()
        self.statement()
        self.family_list()
        return bytes(self.pdf.output())


def _headings(family: str):  # noqa: ANN202 - fpdf2's FontFace
    from fpdf.fonts import FontFace

    return FontFace(family=family, emphasis="BOLD", fill_color=(230, 230, 230))


def render_minutes_pdf(minutes: ForumMinutes, lang: str = "id") -> bytes:
    """The berita acara and FKP list of one forum as PDF bytes (Indonesian unless ``lang="en"``)."""
    return _Writer(minutes, lang).render()
