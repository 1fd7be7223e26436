"""The FKP minutes PDF (reports/fkp_minutes.py): what a reader of the printed berita acara finds in it."""
from __future__ import annotations

import dataclasses
import io
import re

from pypdf import PdfReader

from bench.fkp_pdf import sample_minutes
from reports.fkp_minutes import AddedFamily, Decision, FinalFamily, SlsFamilies, render_minutes_pdf


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def small_forum():
    minutes = sample_minutes(sls_count=2, families=6)
    return dataclasses.replace(
        minutes,
        decisions=(Decision("RT 001", "Ni Komang Ayu Şükrü", 4, 1, "Kepala keluarga meninggal", True),
                   Decision("RT 002", "Yohanes Pattimura", 2, 4, "Penghasilan baru", False,
                            "Penghasilan belum tetap")),
        added=(AddedFamily("RT 002", "Keluarga Daeng Matutu", "moved"),),
        families=(SlsFamilies("64.72.01.1001.0001", "RT 001", (FinalFamily("Ni Komang Ayu Şükrü", 1),
                                                               FinalFamily("Siti Aminah", 3))),
                  SlsFamilies("64.72.01.1001.0002", "RT 002", (FinalFamily("Yohanes Pattimura", 2),))),
        notes="Satu keberatan warga dibahas.")


def test_the_minutes_hold_every_block_in_indonesian() -> None:
    text = text_of(render_minutes_pdf(small_forum()))
    for block in ("BERITA ACARA FORUM KONSULTASI PUBLIK", "I. KETERANGAN WILAYAH", "II. JUMLAH KELUARGA",
                  "III. DAFTAR HADIR", "IV. KEPUTUSAN FORUM", "V. KELUARGA YANG BELUM ADA", "VI. CATATAN",
                  "VII. PERNYATAAN", "DAFTAR HASIL FORUM KONSULTASI PUBLIK", "Cap dan tanda tangan",
                  "Mengetahui, Lurah Rawa Makmur"):
        assert block in text, block
    assert "Selasa, 4 Mei 2027, pukul 09.00 WITA" in text
    assert "Forum ke-1 dari 1" in text and "Balai Kelurahan Rawa Makmur" in text
    assert "Satu keberatan warga dibahas." in text


def test_the_decisions_and_the_added_families_are_listed_with_their_outcome() -> None:
    text = text_of(render_minutes_pdf(small_forum()))
    assert re.search(r"Ni Komang Ayu Şükrü\s+K4\s+K1\s+Kepala keluarga meninggal\s+Diterima", text)
    assert re.search(r"Yohanes Pattimura\s+K2\s+K4\s+Penghasilan baru\s+Ditolak: Penghasilan belum tetap", text)
    assert re.search(r"Keluarga Daeng Matutu\s+Pindah", text)
    assert re.search(r"Siti Aminah\s+K3 Rentan Miskin", text)  # the FKP list: the final group, never a score


def test_the_counts_have_a_total_row() -> None:
    minutes = small_forum()
    text = text_of(render_minutes_pdf(minutes))
    total_before = [sum(c.before[g] for c in minutes.counts) for g in range(4)]
    assert re.search(r"Jumlah\s+" + r"\s+".join(str(n) for n in total_before), text)


def test_english_minutes_on_request() -> None:
    text = text_of(render_minutes_pdf(small_forum(), lang="en"))
    assert "MINUTES OF THE PUBLIC CONSULTATION FORUM" in text and "Tuesday, 4 May 2027, 09:00 WITA" in text
    assert "Rejected: Penghasilan belum tetap" in text


def test_the_same_minutes_give_the_same_bytes() -> None:
    assert render_minutes_pdf(small_forum()) == render_minutes_pdf(small_forum())


def test_a_page_rendered_for_a_look(tmp_path) -> None:
    """The first page as PNG, kept under pytest's tmp dir (a human can open it after a run)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(render_minutes_pdf(sample_minutes(sls_count=3, families=20)))
    image = document[0].render(scale=1.5).to_pil()
    target = tmp_path / "fkp-minutes-page-1.png"
    image.save(target)
    assert target.stat().st_size > 10_000
    # not a blank page: a good share of the pixels carry ink
    grey = image.convert("L")
    dark = sum(grey.histogram()[:128])
    assert dark > 0.01 * grey.width * grey.height


def test_without_a_font_for_a_letter_it_prints_unaccented_never_as_nothing(monkeypatch, tmp_path) -> None:
    from reports import fkp_minutes

    monkeypatch.setattr(fkp_minutes, "DEJAVU", tmp_path / "no-fonts")  # a clean machine: Lato alone
    text = text_of(render_minutes_pdf(small_forum()))
    assert "Ni Komang Ayu Sükrü" in text  # Lato has ü but not Ş
