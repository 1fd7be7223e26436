"""`pintu ranking`: the proxy-means welfare ranking at the command line (docs/ranking.md).

    pintu ranking run --area 64.72 [--model FILE]      score, rank and store a kab/kota; counts per group
    pintu ranking show --area CODE                     counts per group (model and final) of any area
    pintu ranking export --area CODE [--format csv|xlsx] [--lang id|en] --out FILE   the final list
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import forms
from bot.config import Settings

DEMO_MODEL = Path(forms.__file__).resolve().parent / "ranking" / "demo-model.yaml"
NOT_RANKED_SHOWN = 50  # the not-ranked families printed by name; the rest as a count


def add_parser(sub: Any) -> None:
    ranking = sub.add_parser("ranking", help="the welfare ranking (PMT model) of a kab/kota").add_subparsers()
    run = ranking.add_parser("run", help="score every completed record of a kab/kota, rank and store "
                                         "(rerunnable; forum decisions are kept), e.g. pintu ranking run --area 64.72")
    run.add_argument("--area", required=True, help="the kab/kota code, e.g. 64.72 (Kota Samarinda)")
    run.add_argument("--model", default=None,
                     help=f"the PMT model file (YAML/JSON, docs/ranking.md), e.g. pmt-6472.yaml; "
                          f"default: the ILLUSTRATIVE demo model {DEMO_MODEL.name}")
    run.set_defaults(func=_run)

    show = ranking.add_parser("show", help="families per welfare group, e.g. pintu ranking show --area 64.72.01.1001")
    show.add_argument("--area", required=True, help="any area code: 64.72 (kab/kota), 64.72.01.1001 (kelurahan)")
    show.set_defaults(func=_show)

    export = ranking.add_parser("export", help="the final list (family, SLS, final group, changed by the forum; "
                                               "never the score), e.g. pintu ranking export --area 64.72.01.1001 "
                                               "--format xlsx --out daftar.xlsx")
    export.add_argument("--area", required=True, help="a kelurahan (64.72.01.1001) or kab/kota (64.72) code")
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="csv (default) or xlsx")
    export.add_argument("--lang", choices=["id", "en"], default="id",
                        help="headers and group names: id (Indonesian, default) or en, e.g. --lang en")
    export.add_argument("--out", required=True, help="the file to write, e.g. daftar-akhir.csv")
    export.set_defaults(func=_export)


def _load(path: str | None) -> Any:
    from domain.pmt import load_model

    file = Path(path) if path else DEMO_MODEL
    return load_model(file.read_text(encoding="utf-8"))


def _counts_line(counts: dict[int, int], names: dict[int, str]) -> str:
    return "  ".join(f"{group} {names[group]}: {counts[group]:,}" for group in sorted(counts))


def _group_names(lang: str = "id") -> dict[int, str]:
    from chat.i18n import Translator
    from domain.ranking import GROUP_KEYS

    t = Translator(lang)
    return {group: t(key) for group, key in GROUP_KEYS.items()}


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import build
    from domain.pmt import PmtModelError
    from domain.ranking_run import RankingAreaError, run_ranking

    try:
        model = _load(args.model)
    except (OSError, PmtModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if model.illustrative:
        print(f"note: {model.name} is an ILLUSTRATIVE model, not BPS's weights: do not target a programme with it")
    pintu = build(settings)
    with pintu.uow() as uow:
        try:
            result = run_ranking(uow, model, args.area, pintu.clock.now())
        except RankingAreaError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        uow.commit()
    names = _group_names()
    print(f"{result.kabkota_name} ({result.kabkota_code}): {result.ranked:,} families ranked with {result.model_version}")
    print(f"model groups: {_counts_line(result.model_counts, names)}")
    print(f"final groups: {_counts_line(result.final_counts, names)}")
    scored_out = dict(result.not_scored)
    if result.not_scored:
        print(f"{len(result.not_scored):,} completed records could not be scored:")
        for family_id, reason in result.not_scored[:NOT_RANKED_SHOWN]:
            print(f"  family {family_id}: {reason}")
    missing = [f for f in result.unranked if f.id not in scored_out]
    print(f"{len(missing):,} families not ranked (no completed record):")
    for family in missing[:NOT_RANKED_SHOWN]:
        print(f"  family {family.id} (SLS {family.sls_id}): {family.head_name}")
    if len(missing) > NOT_RANKED_SHOWN:
        print(f"  ... and {len(missing) - NOT_RANKED_SHOWN:,} more (pintu ranking export lists the ranked ones)")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import build

    pintu = build(settings)
    with pintu.uow() as uow:
        area = uow.areas.by_code(args.area)
        if area is None:
            print(f"error: no area with code {args.area}", file=sys.stderr)
            return 1
        model = uow.rankings.counts_by_group(area.code, final=False)
        final = uow.rankings.counts_by_group(area.code, final=True)
        unranked = len(uow.rankings.unranked_families(area.code))
    names = _group_names()
    print(f"{area.name} ({area.code}): {sum(final.values()):,} families ranked, {unranked:,} not ranked")
    print(f"model groups: {_counts_line(model, names)}")
    print(f"final groups: {_counts_line(final, names)}")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import build
    from domain import audit
    from domain.ranking_export import export_final_list

    pintu = build(settings)
    with pintu.uow() as uow:
        area = uow.areas.by_code(args.area)
        if area is None:
            print(f"error: no area with code {args.area}", file=sys.stderr)
            return 1
        now = pintu.clock.now()
        exported = export_final_list(uow, area, args.format, now, _group_names(args.lang), lang=args.lang)
        audit.record(uow, None, audit.EXPORT, now, area_id=area.id, count=exported.rows)
        uow.commit()
    Path(args.out).write_bytes(exported.content)
    print(f"{exported.rows:,} families of {area.name} ({area.code}) written to {args.out} "
          f"({len(exported.content):,} bytes)")
    return 0
