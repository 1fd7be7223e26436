"""Writes regsosek_first_visit.xlsx, Pintu's default first-visit form, next to this script.

    .venv/bin/python -m forms.default.build_default [OUTPUT.xlsx]

The form is kept here as data so that a change is a reviewable diff; the .xlsx is what field staff
open in a spreadsheet and what the engine reads. Edit this file, run it, commit both.

The items follow the key questions of REGSOSEK22-K (BPS, Pendataan Awal Registrasi Sosial Ekonomi
2022): family members, the member roster (a repeat, one block per member as ``members`` says: name,
NIK, relationship to the head, sex, date of birth, marital status, education, work, disability),
housing (tenure, floor area, floor/wall/roof material, drinking water,
lighting and installed power, cooking fuel, toilet), social assistance of the last year, assets,
and the enumerator's geotag and house photo. Who answers what is in ``pintu_audience``: the RT
head or the resident gives the family details, the resident may self-report housing, assistance
and assets before the visit, and the enumerator (who may answer everything) completes the rest.

``needs_photo`` is a hidden field the bot preloads ("1" when the family is flagged for a photo).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "regsosek_first_visit.xlsx"
ID, EN = "Indonesian (id)", "English (en)"

SURVEY_COLUMNS = [
    "type", "name", f"label::{ID}", f"label::{EN}", f"hint::{ID}", f"hint::{EN}",
    "required", f"required_message::{ID}", f"required_message::{EN}", "relevant",
    "constraint", f"constraint_message::{ID}", f"constraint_message::{EN}",
    "calculation", "default", "parameters", "pintu_audience", "repeat_count",
]
CHOICE_COLUMNS = ["list_name", "name", f"label::{ID}", f"label::{EN}"]
SETTINGS = {
    "form_title": "Regsosek - kunjungan pertama",
    "form_id": "pintu_regsosek_first_visit",
    "version": "2026120202",
    "default_language": ID,
}
ASSETS = [  # (name, Indonesian, English): the yes/no asset list
    ("asset_fridge", "Lemari es/kulkas", "Refrigerator"),
    ("asset_motorcycle", "Sepeda motor", "Motorcycle"),
    ("asset_car", "Mobil", "Car"),
    ("asset_gas", "Tabung gas 5,5 kg atau lebih", "Gas cylinder of 5.5 kg or more"),
    ("asset_ac", "AC (pendingin ruangan)", "Air conditioner"),
    ("asset_tv", "Televisi layar datar minimal 30 inci", "Flat-screen TV of 30 inches or more"),
    ("asset_smartphone", "Telepon pintar (smartphone)", "Smartphone"),
    ("asset_gold", "Emas/perhiasan minimal 10 gram", "Gold or jewellery of 10 grams or more"),
]


def row(kind: str, name: str = "", label: tuple[str, str] = ("", ""), *, hint: tuple[str, str] = ("", ""),
        required: bool = False, required_message: tuple[str, str] = ("", ""), relevant: str = "",
        constraint: str = "", constraint_message: tuple[str, str] = ("", ""), calculation: str = "",
        default: str = "", parameters: str = "", audience: str = "", repeat_count: str = "") -> list[str]:
    """One survey row, in SURVEY_COLUMNS order."""
    return [kind, name, *label, *hint, "yes" if required else "", *required_message, relevant,
            constraint, *constraint_message, calculation, default, parameters, audience, repeat_count]


def survey() -> list[list[str]]:
    return [
        row("hidden", "needs_photo", default="0"),
        *family(), *roster(), *housing(), *assistance(), *assets(), *visit(),
    ]


def family() -> list[list[str]]:
    return [
        row("begin group", "family", ("Keterangan keluarga", "Family details"), audience="rt_head resident"),
        row("text", "head_name", ("Nama kepala keluarga", "Name of the head of the family"),
            hint=("Sesuai Kartu Keluarga.", "As on the family card (KK)."), required=True,
            required_message=("Nama kepala keluarga wajib diisi.",
                              "The name of the head of the family is required."),
            constraint="string-length(.) >= 3",
            constraint_message=("Tulis nama lengkap (minimal 3 huruf).",
                                "Write the full name (at least 3 letters).")),
        row("integer", "members", ("Jumlah anggota keluarga", "Number of family members"),
            hint=("Semua yang tinggal dan makan dari satu dapur, termasuk kepala keluarga.",
                  "Everyone who lives and eats from the same kitchen, the head included."),
            required=True, constraint=". >= 1 and . <= 30",
            constraint_message=("Jumlah anggota keluarga antara 1 dan 30.",
                                "The number of family members is between 1 and 30.")),
        row("end group"),
    ]


def roster() -> list[list[str]]:
    """Keterangan anggota keluarga: one block per member, as many as ``members`` says; the head first."""
    return [
        row("begin repeat", "roster", ("Anggota keluarga", "Family member"), audience="enumerator",
            repeat_count="${members}"),
        row("text", "member_name", ("Nama anggota keluarga", "Name of the family member"),
            hint=("Nama lengkap sesuai KTP/KK.", "Full name as on the ID card or family card."), required=True,
            constraint="string-length(.) >= 2",
            constraint_message=("Tulis nama lengkap (minimal 2 huruf).", "Write the full name (at least 2 letters).")),
        row("text", "member_nik", ("NIK ${member_name}", "NIK of ${member_name}"),
            hint=("16 angka, lihat KTP atau KK. Lewati jika belum punya NIK.",
                  "16 digits, see the ID card or family card. Skip if there is none yet."),
            # nik-valid: 16 digits, a real kecamatan, a birth date (forms/nik.py; the reason is told);
            # then no second member of the family with the same NIK.
            constraint="nik-valid(.) and count(../../roster[member_nik = current()]) <= 1",
            constraint_message=("NIK ini sudah dipakai anggota lain keluarga ini.",
                                "Another member of this family already has this NIK.")),
        row("select_one relation", "relation", ("Hubungan ${member_name} dengan kepala keluarga",
                                                "Relationship of ${member_name} to the head of the family"),
            required=True, constraint="if(position(..) = 1, . = 'head', . != 'head')",
            constraint_message=("Anggota pertama adalah kepala keluarga, dan hanya dia.",
                                "The first member is the head of the family, and only the first.")),
        row("select_one sex", "sex", ("Jenis kelamin ${member_name}", "Sex of ${member_name}"), required=True,
            constraint="nik-sex-matches(${member_nik}, . = 'female')",
            constraint_message=("Jenis kelamin ini tidak cocok dengan NIK (untuk perempuan, tanggal di NIK "
                                "ditambah 40). Periksa lagi jenis kelamin atau NIK-nya.",
                                "This sex does not match the NIK (for women, 40 is added to the day in the "
                                "NIK). Check the sex or the NIK again.")),
        row("date", "birth_date", ("Tanggal lahir ${member_name}", "Date of birth of ${member_name}"),
            hint=("Contoh: 17-08-1985.", "For example: 17-08-1985."), required=True,
            constraint=". <= today() and . >= '1900-01-01' and nik-birth-matches(${member_nik}, .)",
            constraint_message=("Tanggal lahir harus sama dengan angka ke-7 sampai ke-12 NIK (TTBBTT) dan tidak "
                                "setelah hari ini.",
                                "The date of birth must match digits 7 to 12 of the NIK (DDMMYY) and not be "
                                "after today.")),
        row("calculate", "age", calculation="int((decimal-date-time(today()) - decimal-date-time(${birth_date})) div 365.25)"),
        row("select_one marital", "marital", ("Status perkawinan ${member_name}", "Marital status of ${member_name}"),
            required=True, relevant="${age} >= 10"),
        row("select_one education", "education", ("Pendidikan tertinggi yang ditamatkan ${member_name}",
                                                  "Highest education completed by ${member_name}"),
            required=True, relevant="${age} >= 5"),
        row("select_one yes_no", "works", ("Apakah ${member_name} bekerja dalam seminggu terakhir?",
                                           "Did ${member_name} work in the last week?"),
            hint=("Bekerja paling sedikit 1 jam untuk mendapat penghasilan.",
                  "Worked at least one hour to earn an income."),
            required=True, relevant="${age} >= 10"),
        row("select_one yes_no", "disability", ("Apakah ${member_name} memiliki disabilitas?",
                                                "Does ${member_name} have a disability?"),
            hint=("Kesulitan melihat, mendengar, berjalan, mengingat, atau mengurus diri.",
                  "Difficulty seeing, hearing, walking, remembering or self-care."), required=True),
        row("end repeat"),
        row("calculate", "roster_count", calculation="count(${roster})"),
        row("calculate", "workers", calculation="count(${roster}[works = 'yes'])"),
        row("calculate", "children_under_5", calculation="count(${roster}[age < 5])"),
        row("note", "roster_summary", (
            "Tercatat ${roster_count} anggota keluarga; ${workers} bekerja, ${children_under_5} balita.",
            "${roster_count} family members recorded; ${workers} working, ${children_under_5} under five."),
            relevant="${roster_count} > 0", audience="enumerator"),
    ]


def housing() -> list[list[str]]:
    return [
        row("begin group", "housing", ("Keterangan perumahan", "Housing"), audience="resident"),
        row("select_one tenure", "tenure", ("Status kepemilikan bangunan tempat tinggal",
                                            "Tenure of the house"), required=True),
        row("integer", "floor_area", ("Luas lantai bangunan tempat tinggal (m²)", "Floor area of the house (m²)"),
            hint=("Perkiraan saja, dalam meter persegi.", "An estimate is fine, in square metres."),
            required=True, constraint=". >= 4 and . <= 2000",
            constraint_message=("Luas lantai antara 4 dan 2.000 m².",
                                "The floor area is between 4 and 2,000 m².")),
        row("select_one floor", "floor", ("Jenis lantai terluas", "Main floor material"), required=True),
        row("select_one wall", "wall", ("Jenis dinding terluas", "Main wall material"), required=True),
        row("select_one roof", "roof", ("Jenis atap terluas", "Main roof material"), required=True),
        row("select_one water", "water", ("Sumber air minum utama", "Main source of drinking water"),
            required=True),
        row("select_one lighting", "lighting", ("Sumber penerangan utama", "Main source of lighting"),
            required=True),
        row("select_one power", "power", ("Daya listrik terpasang", "Installed electrical power"),
            hint=("Lihat di meteran atau rekening listrik.", "See the meter or the electricity bill."),
            required=True, relevant="${lighting} = 'pln_meter' or ${lighting} = 'pln_no_meter'"),
        row("select_one cooking", "cooking", ("Bahan bakar utama untuk memasak", "Main cooking fuel"),
            required=True),
        row("select_one toilet", "toilet", ("Fasilitas tempat buang air besar", "Toilet facility"),
            required=True),
        row("end group"),
    ]


def assistance() -> list[list[str]]:
    return [
        row("begin group", "assistance", ("Program bantuan sosial", "Social assistance"), audience="resident"),
        row("select_multiple aid", "aid", (
            "Dalam setahun terakhir, bantuan apa saja yang diterima keluarga?",
            "Which social assistance did the family receive in the last year?"),
            hint=("Boleh pilih lebih dari satu. Pilih 'Tidak ada' jika tidak menerima bantuan.",
                  "You may choose several. Choose 'None' if the family received none."),
            required=True, constraint="not(selected(., 'none') and count-selected(.) > 1)",
            constraint_message=("'Tidak ada' tidak bisa dipilih bersama bantuan lain.",
                                "'None' cannot be chosen together with a programme.")),
        row("end group"),
    ]


def assets() -> list[list[str]]:
    count = " + ".join(f"if(${{{name}}} = 'yes', 1, 0)" for name, _, _ in ASSETS)
    return [
        row("begin group", "assets", ("Kepemilikan aset", "Assets"), audience="resident"),
        row("note", "assets_intro", ("Apakah keluarga memiliki barang berikut?",
                                     "Does the family own the following?")),
        *(row("select_one yes_no", name, (id_label, en_label), required=True) for name, id_label, en_label in ASSETS),
        row("calculate", "asset_count", calculation=count),
        row("note", "assets_summary", ("Keluarga memiliki ${asset_count} dari 8 aset yang ditanyakan.",
                                       "The family owns ${asset_count} of the 8 assets asked about."),
            relevant="${asset_gold} != ''"),
        row("end group"),
    ]


def visit() -> list[list[str]]:
    return [
        row("begin group", "visit", ("Kunjungan petugas", "Enumerator visit"), audience="enumerator"),
        row("date", "visit_date", ("Tanggal kunjungan", "Date of the visit"), required=True,
            constraint=". <= today()",
            constraint_message=("Tanggal kunjungan tidak boleh setelah hari ini.",
                                "The date of the visit cannot be after today.")),
        row("geopoint", "geotag", ("Lokasi rumah (geotag)", "Location of the house (geotag)"),
            hint=("Kirim lokasi dari depan rumah.", "Send the location from in front of the house."),
            required=True),
        row("image", "house_photo", ("Foto tampak depan rumah", "Photo of the front of the house"),
            hint=("Seluruh bagian depan rumah terlihat.", "The whole front of the house in view."),
            required=True, relevant="${needs_photo} = 1", parameters="max-pixels=1024"),
        row("end group"),
    ]


CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "tenure": [("own", "Milik sendiri", "Own"), ("rent", "Kontrak/sewa", "Rented or leased"),
               ("rent_free", "Bebas sewa", "Rent-free"), ("official", "Dinas", "Official housing"),
               ("other", "Lainnya", "Other")],
    "floor": [("marble", "Marmer/granit", "Marble/granite"), ("ceramic", "Keramik", "Ceramic tiles"),
              ("parquet", "Parket/vinil/karpet", "Parquet/vinyl/carpet"),
              ("tile", "Ubin/tegel/teraso", "Floor tiles/terrazzo"), ("wood", "Kayu/papan", "Wood/planks"),
              ("cement", "Semen/bata merah", "Cement/red brick"), ("bamboo", "Bambu", "Bamboo"),
              ("earth", "Tanah", "Earth"), ("other", "Lainnya", "Other")],
    "wall": [("masonry", "Tembok", "Masonry"),
             ("plastered_bamboo", "Plesteran anyaman bambu/kawat", "Plastered woven bamboo/wire"),
             ("wood", "Kayu/papan/gipsum/GRC/kalsiboard", "Wood/planks/gypsum/GRC/calciboard"),
             ("woven_bamboo", "Anyaman bambu", "Woven bamboo"), ("log", "Batang kayu", "Logs"),
             ("bamboo", "Bambu", "Bamboo"), ("other", "Lainnya", "Other")],
    "roof": [("concrete", "Beton", "Concrete"), ("clay_tile", "Genteng", "Roof tiles"),
             ("zinc", "Seng", "Metal sheet"), ("asbestos", "Asbes", "Asbestos"),
             ("wood", "Kayu/sirap", "Wood/shingles"), ("bamboo", "Bambu", "Bamboo"),
             ("thatch", "Jerami/ijuk/daun-daunan/rumbia", "Straw/palm fibre/leaves"),
             ("other", "Lainnya", "Other")],
    "water": [("bottled", "Air kemasan bermerek", "Branded bottled water"),
              ("refill", "Air isi ulang", "Refilled water"), ("piped", "Leding", "Piped water"),
              ("borehole", "Sumur bor/pompa", "Borehole/pump"),
              ("protected_well", "Sumur terlindung", "Protected well"),
              ("unprotected_well", "Sumur tak terlindung", "Unprotected well"),
              ("protected_spring", "Mata air terlindung", "Protected spring"),
              ("unprotected_spring", "Mata air tak terlindung", "Unprotected spring"),
              ("surface", "Air permukaan (sungai/danau/waduk/kolam/irigasi)",
               "Surface water (river/lake/reservoir/pond/irrigation)"),
              ("rain", "Air hujan", "Rainwater"), ("other", "Lainnya", "Other")],
    "lighting": [("pln_meter", "Listrik PLN dengan meteran", "PLN electricity with a meter"),
                 ("pln_no_meter", "Listrik PLN tanpa meteran", "PLN electricity without a meter"),
                 ("non_pln", "Listrik non-PLN", "Electricity not from PLN"),
                 ("not_electric", "Bukan listrik", "Not electricity")],
    "power": [("450", "450 VA", "450 VA"), ("900", "900 VA", "900 VA"), ("1300", "1.300 VA", "1,300 VA"),
              ("2200", "2.200 VA", "2,200 VA"), ("over_2200", "Lebih dari 2.200 VA", "More than 2,200 VA")],
    "cooking": [("electricity", "Listrik", "Electricity"),
                ("lpg_5_5", "Elpiji 5,5 kg/blue gaz", "LPG 5.5 kg/Blue Gaz"), ("lpg_12", "Elpiji 12 kg", "LPG 12 kg"),
                ("lpg_3", "Elpiji 3 kg", "LPG 3 kg"), ("town_gas", "Gas kota/meteran PGN", "Piped gas (PGN)"),
                ("biogas", "Biogas", "Biogas"), ("kerosene", "Minyak tanah", "Kerosene"),
                ("briquette", "Briket", "Briquettes"), ("charcoal", "Arang", "Charcoal"),
                ("firewood", "Kayu bakar", "Firewood"), ("other", "Lainnya", "Other"),
                ("no_cooking", "Tidak memasak di rumah", "Does not cook at home")],
    "toilet": [("own", "Ada, hanya anggota keluarga sendiri", "Yes, used only by this family"),
               ("shared", "Ada, bersama keluarga tertentu", "Yes, shared with certain other families"),
               ("communal", "Ada, di MCK komunal", "Yes, a communal facility"),
               ("public", "Ada, di MCK umum", "Yes, a public facility"),
               ("unused", "Ada, anggota keluarga tidak menggunakan", "Yes, but the family does not use it"),
               ("none", "Tidak ada fasilitas", "No facility")],
    "aid": [("pkh", "PKH (Program Keluarga Harapan)", "PKH (Family Hope Programme)"),
            ("bpnt", "BPNT/Program Sembako", "BPNT/Sembako food assistance"),
            ("blt", "BLT (Bantuan Langsung Tunai)", "BLT (direct cash assistance)"),
            ("pbi_jk", "PBI-JK (iuran BPJS Kesehatan dibayar pemerintah)",
             "PBI-JK (health insurance paid by the government)"),
            ("none", "Tidak ada", "None")],
    "yes_no": [("yes", "Ya", "Yes"), ("no", "Tidak", "No")],
    "relation": [("head", "Kepala keluarga", "Head of the family"), ("spouse", "Istri/suami", "Wife/husband"),
                 ("child", "Anak", "Child"), ("child_in_law", "Menantu", "Son/daughter-in-law"),
                 ("grandchild", "Cucu", "Grandchild"), ("parent", "Orang tua/mertua", "Parent/parent-in-law"),
                 ("servant", "Pembantu/sopir", "Domestic worker/driver"), ("other", "Lainnya", "Other")],
    "sex": [("male", "Laki-laki", "Male"), ("female", "Perempuan", "Female")],
    "marital": [("single", "Belum kawin", "Never married"), ("married", "Kawin", "Married"),
                ("divorced", "Cerai hidup", "Divorced"), ("widowed", "Cerai mati", "Widowed")],
    "education": [("none", "Tidak/belum sekolah", "No schooling"), ("not_finished_sd", "Tidak tamat SD/sederajat",
                                                                    "Primary school not completed"),
                  ("sd", "SD/sederajat", "Primary school"), ("smp", "SMP/sederajat", "Junior secondary"),
                  ("sma", "SMA/SMK/sederajat", "Senior secondary"), ("diploma", "Diploma I-III", "Diploma I-III"),
                  ("s1", "D4/S1", "Bachelor (D4/S1)"), ("s2_s3", "S2/S3", "Master or doctorate")],
}


def workbook() -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    _fill(sheet, SURVEY_COLUMNS, survey())
    _fill(book.create_sheet("choices"), CHOICE_COLUMNS,
          [[list_name, *choice] for list_name, choices in CHOICES.items() for choice in choices])
    _fill(book.create_sheet("settings"), list(SETTINGS), [list(SETTINGS.values())])
    return book


def _fill(sheet: Any, header: list[str], rows: list[list[str]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append([v if v != "" else None for v in values])
    sheet.freeze_panes = "A2"
    for column, title in zip(sheet.columns, header):
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width, len(title)) + 2, 60)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else OUTPUT
    workbook().save(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
