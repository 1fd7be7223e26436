"""The FKP minutes as PDF for a large forum: 12 SLS x 150 families (reports/fkp_minutes.py).

    python -m bench fkp_pdf [--sls 12] [--families 150] [--runs 3] [--out FILE.pdf]

Builds a ForumMinutes with every block filled (attendance of the SLS heads, facilitators and five
community figures; a decision for 5% of the families, a fifth of them rejected; two added families per
SLS), renders it ``--runs`` times and prints the best and median time, the size and the page count.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.fkp_minutes import (  # noqa: E402
    AddedFamily, AreaName, Attendee, Decision, FinalFamily, ForumArea, ForumMinutes, SlsCounts, SlsFamilies,
    render_minutes_pdf,
)

REASONS = ("Kepala keluarga meninggal", "Kehilangan pekerjaan", "Sakit menahun", "Penghasilan baru", "Pindah")


def sample_minutes(sls_count: int = 12, families: int = 150) -> ForumMinutes:
    """A forum of ``sls_count`` SLS of Rawa Makmur (Palaran, Samarinda), ``families`` families each."""
    area = ForumArea(AreaName("64", "Kalimantan Timur"), AreaName("64.72", "Kota Samarinda"),
                     AreaName("64.72.01", "Palaran"), AreaName("64.72.01.1001", "Rawa Makmur"))
    counts, decisions, added, lists = [], [], [], []
    attendance = [Attendee("Hj. Rahmawati", "facilitator", True), Attendee("Agus Salim", "assistant", True),
                  Attendee("Dewi Lestari", "assistant", True), Attendee("Budi Santoso", "administrator", True)]
    attendance += [Attendee(f"Tokoh {n}", "figure", n != 5) for n in range(1, 6)]
    for s in range(1, sls_count + 1):
        code, name = f"64.72.01.1001.{s:04d}", f"RT {s:03d}"
        attendance.append(Attendee(f"Ketua RT {s:03d}", "sls_head", True))
        groups = [1 + (f * 7 + s) % 10 // 3 if (f * 7 + s) % 10 < 9 else 4 for f in range(families)]
        groups = [min(g, 4) for g in groups]
        final = list(groups)
        for f in range(0, families, 20):
            to = 1 + groups[f] % 4
            accepted = f % 100 != 0
            decisions.append(Decision(name, f"Kepala Keluarga {s}-{f:03d}", groups[f], to, REASONS[f // 20 % 5], accepted,
                                      None if accepted else "Tidak sesuai keadaan sebenarnya"))
            if accepted:
                final[f] = to
        added += [AddedFamily(name, f"Keluarga Baru {s}-{n}", ("present", "moved")[n % 2]) for n in range(2)]
        counts.append(SlsCounts(code, name, tuple(groups.count(g) for g in (1, 2, 3, 4)),  # type: ignore[arg-type]
                                tuple(final.count(g) for g in (1, 2, 3, 4)), 2))  # type: ignore[arg-type]
        lists.append(SlsFamilies(code, name, tuple(FinalFamily(f"Kepala Keluarga {s}-{f:03d}", final[f])
                                                   for f in range(families))))
    return ForumMinutes(
        area=area, forum_number=1, forum_count=1,
        held_at=dt.datetime(2027, 5, 4, 9, 0, tzinfo=ZoneInfo("Asia/Makassar")), zone_label="WITA",
        place="Balai Kelurahan Rawa Makmur", counts=tuple(counts), attendance=tuple(attendance),
        decisions=tuple(decisions), added=tuple(added), families=tuple(lists), facilitator="Hj. Rahmawati",
        assistants=("Agus Salim", "Dewi Lestari"),
        participants=tuple(a.name for a in attendance if a.present and a.role in ("sls_head", "figure")),
        notes="Forum berjalan lancar; satu tokoh masyarakat berhalangan hadir.", lurah_title="Lurah")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sls", type=int, default=12, help="SLS in the forum (default 12)")
    parser.add_argument("--families", type=int, default=150, help="families per SLS (default 150)")
    parser.add_argument("--runs", type=int, default=3, help="renders timed (default 3)")
    parser.add_argument("--out", help="write the PDF here, e.g. /tmp/fkp.pdf")
    args = parser.parse_args(argv)
    minutes = sample_minutes(args.sls, args.families)
    seconds, content = [], b""
    for _ in range(args.runs):
        started = time.perf_counter()
        content = render_minutes_pdf(minutes)
        seconds.append(time.perf_counter() - started)
    from pypdf import PdfReader
    import io

    pages = len(PdfReader(io.BytesIO(content)).pages)
    print(f"fkp_pdf: {args.sls} SLS x {args.families} families, {len(minutes.decisions)} decisions, "
          f"{len(minutes.attendance)} attendees")
    print(f"render best {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s; "
          f"{len(content) / 1e3:,.0f} kB, {pages} pages")
    if args.out:
        Path(args.out).write_bytes(content)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
