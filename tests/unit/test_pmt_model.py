"""The PMT model file and a family's score, hand-computed (domain/pmt.py, forms/ranking/demo-model.yaml)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from domain.pmt import NotScored, PmtModelError, load_model, parse_model
from tests.factories import roster_answers

DEMO = Path(__file__).resolve().parents[2] / "forms" / "ranking" / "demo-model.yaml"


def model(*variables, intercept=10.0, cutoffs=None):
    document = {"format": "pintu.pmt/1", "name": "t", "version": "1", "variables": list(variables),
                "intercept": intercept}
    if cutoffs is not None:
        document["cutoffs"] = cutoffs
    return parse_model(document)


def test_log_per_capita_and_indicator_terms_add_up() -> None:
    pmt = model({"name": "area_pc", "answer": "floor_area", "per_capita": "members", "transform": "log",
                 "coefficient": 0.5},
                {"name": "earth", "answer": "floor", "transform": "indicator", "values": ["earth", "bamboo"],
                 "coefficient": -0.2})
    # 10 + 0.5 * ln(40 / 4) - 0.2 * 1
    assert pmt.score({"floor_area": "40", "members": "4", "floor": "earth"}, "64.72.01") == pytest.approx(
        10 + 0.5 * math.log(10) - 0.2)
    assert pmt.score({"floor_area": "40", "members": "4", "floor": "ceramic"}, "64.72.01") == pytest.approx(
        10 + 0.5 * math.log(10))


def test_roster_aggregates_over_the_completed_records_list_and_a_drafts_keys() -> None:
    share = {"name": "share_working", "roster": "roster", "aggregate": "share", "where": {"works": "yes"},
             "coefficient": 1.0}
    count = {"name": "heads_educated", "roster": "roster", "aggregate": "count",
             "where": {"relation": "head", "education": ["sma", "s1"]}, "coefficient": 2.0}
    pmt = model(share, count, intercept=0.0)
    record = {"roster": [{"relation": "head", "education": "sma", "works": "yes"},
                         {"relation": "child", "education": "sd", "works": "no"},
                         {"relation": "spouse", "education": "s1", "works": "yes"},
                         {"relation": "child"}]}
    assert pmt.score(record, "64") == pytest.approx(2 / 4 + 2.0 * 1)
    draft = roster_answers(["Siti", "Budi"])  # the draft's member_name[1], works[1], ... keys
    assert pmt.score(draft, "64") == pytest.approx(1.0 + 2.0)  # both work; the head finished sma


def test_sum_mean_and_select_multiple() -> None:
    pmt = model({"name": "ages", "roster": "roster", "aggregate": "mean", "of": "age", "coefficient": 0.1},
                {"name": "pkh", "answer": "aid", "transform": "indicator", "values": "pkh", "coefficient": -1.0},
                intercept=0.0)
    answers = {"roster": [{"age": "40"}, {"age": "10"}], "aid": "bpnt pkh"}
    assert pmt.score(answers, "64") == pytest.approx(0.1 * 25 - 1.0)


def test_region_intercepts_the_longest_prefix_wins() -> None:
    pmt = model({"name": "m", "answer": "members", "coefficient": 0.0},
                intercept={"default": 1.0, "regions": {"64": 2.0, "64.72": 3.0, "64.72.01": 4.0}})
    assert pmt.score({"members": "3"}, "64.72.01.1001.0001") == 4.0
    assert pmt.score({"members": "3"}, "64.72.02.1001.0001") == 3.0
    assert pmt.score({"members": "3"}, "64.71.01.1001.0001") == 2.0
    assert pmt.score({"members": "3"}, "64.720.01") == 2.0  # a prefix ends at a dot
    assert pmt.score({"members": "3"}, "63.01") == 1.0


def test_a_missing_answer_leaves_the_family_unscored_unless_the_term_says_what_to_use() -> None:
    strict = model({"name": "area", "answer": "floor_area", "transform": "log", "coefficient": 1.0})
    with pytest.raises(NotScored, match="area: answer 'floor_area' is blank"):
        strict.score({"members": "2"}, "64")
    lenient = model({"name": "kids", "answer": "children_under_5", "missing": 0, "coefficient": -1.0})
    assert lenient.score({}, "64") == 10.0
    with pytest.raises(NotScored, match="log of 0"):
        strict.score({"floor_area": "0"}, "64")


def test_cutoffs_per_region() -> None:
    pmt = model({"name": "m", "answer": "members", "coefficient": 1.0},
                cutoffs={"default": {"groups": [0.1, 0.2, 0.4]},
                         "regions": {"64.72": {"groups": [0.05, 0.15, 0.35]}}})
    assert pmt.cutoffs_for("64.72").groups == (0.05, 0.15, 0.35)
    assert pmt.cutoffs_for("64.71").groups == (0.1, 0.2, 0.4)
    assert len(pmt.cutoffs_for("64.71").deciles) == 9


@pytest.mark.parametrize("change, message", [
    ({"format": "pmt"}, "format: must be 'pintu.pmt/1'"),
    ({"variables": []}, "variables: required"),
    ({"variables": [{"name": "x", "answer": "a", "transform": "lgo", "coefficient": 1}]}, "transform 'lgo' unknown"),
    ({"variables": [{"name": "x", "answer": "a"}]}, "coefficient required"),
    ({"variables": [{"name": "x", "answer": "a", "roster": "r", "coefficient": 1}]}, "exactly one of answer"),
    ({"variables": [{"name": "x", "roster": "r", "aggregate": "mean", "coefficient": 1}]}, "needs of"),
    ({"variables": [{"name": "x", "answer": "a", "transform": "indicator", "coefficient": 1}]}, "needs values"),
    ({"variables": [{"name": "x", "roster": "r", "aggregate": "share", "where": {"works": True},
                     "coefficient": 1}]}, "quote yes/no"),
    ({"variables": [{"name": "x", "answer": "a", "coefficient": 1}, {"name": "x", "answer": "b", "coefficient": 1}]},
     "used twice"),
    ({"intercept": "high"}, "intercept: required"),
    ({"intercept": {"default": 1, "regions": {64.72: 2}}}, "quote it"),
    ({"cutoffs": {"default": {"groups": [0.4, 0.2, 0.1]}}}, "must increase"),
    ({"cutoffs": {"default": {"deciles": [0.1, 0.2]}}}, "9 cumulative shares"),
    ({"colour": "red"}, "colour: unknown key"),
])
def test_bad_files_are_refused_naming_the_place(change, message) -> None:
    document = {"format": "pintu.pmt/1", "name": "t", "version": "1", "intercept": 1.0,
                "variables": [{"name": "m", "answer": "members", "coefficient": 1.0}], **change}
    with pytest.raises(PmtModelError, match=message):
        parse_model(document)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(PmtModelError) as caught:
        parse_model({"format": "x", "variables": [{"name": "a"}], "intercept": None})
    assert len(caught.value.problems) >= 5  # format, name, version, coefficient, answer/roster, intercept


def test_not_yaml_is_refused() -> None:
    with pytest.raises(PmtModelError, match="not valid YAML"):
        load_model("variables: [unclosed")


def test_the_demo_model_is_labelled_illustrative_and_scores_the_default_forms_record() -> None:
    demo = load_model(DEMO.read_text(encoding="utf-8"))
    assert demo.illustrative and "NOT BPS" in DEMO.read_text(encoding="utf-8")
    assert demo.model_version.startswith("pintu-demo-illustrative@2026.1#")
    poor = {"members": "6", "floor_area": "24", "tenure": "rent", "floor": "earth", "wall": "bamboo",
            "roof": "thatch", "water": "surface", "lighting": "not_electric", "cooking": "firewood",
            "toilet": "none", "children_under_5": "2", **{f"asset_{a}": "no" for a in (
                "fridge", "motorcycle", "car", "gas", "ac", "tv", "smartphone", "gold")},
            "roster": [{"relation": "head", "education": "sd", "works": "yes", "disability": "no"}]
            + [{"relation": "child", "works": "no", "disability": "no"}] * 5}
    better = {**poor, "members": "3", "floor_area": "90", "floor": "ceramic", "wall": "masonry",
              "roof": "clay_tile", "water": "piped", "lighting": "pln_meter", "power": "1300",
              "cooking": "lpg_12", "toilet": "own", "children_under_5": "0", "asset_fridge": "yes",
              "asset_motorcycle": "yes", "roster": [{"relation": "head", "education": "s1", "works": "yes",
                                                     "disability": "no"}] * 3}
    assert demo.score(poor, "64.72.01.1001.0001") < demo.score(better, "64.72.01.1001.0001")
