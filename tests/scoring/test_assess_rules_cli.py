"""``duban assess rules --check|--show``, ``duban assess item …`` and ``duban assess preview``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from models.assessment import AssessmentRound
from services.scoring.rules import DEFAULT_RULES_PATH, load_rules
from tests.support.botrig import Rig
from tests.support.clirig import Cli
from tests.support.scoringrig import RULES_TOML, Scene

BAD_RULES = """
[default]
weights = { completion = 0.7, peer = 0.2, inspection = 0.2 }
completion_cap = 0.9
bonus_limit = 5
deduction_limit = 10
bands = { excellent = 80, good = 90, pass = 60 }
top_share = 0.3
survey_threshold = 0.8
survey_min_answers = 30
peer_sample_size = 5
surprise = 1

[classes."乡镇"]
top_share = 1.5
"""


async def test_rules_check_lists_every_problem(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(BAD_RULES, encoding="utf-8")
    result = await cli("assess", "rules", "--check", str(path), DUBAN_LOCALE="en")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines[0] == f"The rules file {path} has 5 problem(s):"
    assert lines[1:] == [
        "default.weights: the weights must sum to 1 (they sum to 1.1)",
        "default.completion_cap: Input should be greater than or equal to 1",
        "default.bands: the bands must fall: excellent > good > pass",
        "default.surprise: Extra inputs are not permitted",
        'classes."乡镇".top_share: Input should be less than or equal to 1',
    ]


async def test_rules_check_accepts_the_shipped_file_and_reports_toml_errors(cli: Cli, tmp_path: Path) -> None:
    ok = await cli("assess", "rules", "--check", str(DEFAULT_RULES_PATH))
    assert ok.code == 0
    assert ok.out.startswith(f"规则文件 {DEFAULT_RULES_PATH} 有效")
    broken = tmp_path / "broken.toml"
    broken.write_text("[default\nweights = ", encoding="utf-8")
    result = await cli("assess", "rules", "--check", str(broken))
    assert result.code == 1
    assert result.err.splitlines()[1].startswith("TOML: ")
    missing = await cli("assess", "rules", "--check", str(tmp_path / "nope.toml"), DUBAN_LOCALE="en")
    assert (missing.code, missing.err.strip()) == (1, f"No such file: {tmp_path / 'nope.toml'}")
    shown = await cli("assess", "rules", "--show", DUBAN_LOCALE="en")
    assert shown.out.strip().splitlines() == [f"Shipped rules: {DEFAULT_RULES_PATH}", f"hash: {load_rules().hash}"]


async def test_item_commands(cli: Cli, rig: Rig) -> None:
    await Scene(rig.db, rig.clock).unit("V001")
    added = await cli("assess", "item", "add", "--year", "2027", "--unit", "V001", "--kind", "bonus", "--points", "2",
                      "--reason", "获省级表彰", "--evidence", "省政府通报", DUBAN_LOCALE="en")
    assert added.code == 0, added.err
    assert added.out.splitlines() == ["Recorded #1", "#1 V001 V001名 bonus 2.00: 获省级表彰 (evidence: 省政府通报)"]
    refused = await cli("assess", "item", "add", "--year", "2027", "--unit", "V001", "--kind", "veto", "--points",
                        "3", "--reason", "事故")
    assert (refused.code, refused.err.strip()) == (1, "duban: 一票否决不带分值，请去掉 --points")
    veto = await cli("assess", "item", "add", "--year", "2027", "--unit", "V001", "--kind", "veto",
                     "--reason", "发生较大安全生产事故")
    assert veto.out.splitlines()[0] == "已登记 #2"
    revoked = await cli("assess", "item", "revoke", "2", "--reason", "经复核不属实")
    assert revoked.out.strip() == "已撤销 #2"
    listing = await cli("assess", "item", "list", "--year", "2027")
    assert listing.out.splitlines() == [
        "#1 V001 V001名 加分 2.00：获省级表彰（佐证：省政府通报）",
        "#2 V001 V001名 一票否决 —：发生较大安全生产事故（佐证：—） [已撤销：经复核不属实]",
    ]
    empty = await cli("assess", "item", "list", "--year", "2030", DUBAN_LOCALE="en")
    assert empty.out.strip() == "No bonus, deduction or veto items for 2030"


async def test_preview_prints_the_ranking_per_class(cli: Cli, rig: Rig, tmp_path: Path) -> None:
    s = Scene(rig.db, rig.clock)
    for code, value in {"V1": 95, "V2": 85, "V3": 50}.items():
        await s.simple(await s.unit(code, "村"), value, planned=100)
    await s.simple(await s.unit("E1", "企业"), 70, planned=100)
    result = await cli("assess", "preview", "2027", "--cutoff", "2027-12-31", DUBAN_LOCALE="en")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"2027 assessment ranking preview (cut-off 2027-12-31, rules {load_rules().hash[:12]})"
    assert "[企业] 1 units" in lines and "[村] 3 units" in lines
    village = lines[lines.index("[村] 3 units") + 2:]
    assert village[:3] == [
        "  1  V1  V1名  95.00  —  —  +0.00  -0.00  95.00  Good",  # floor(3 × 0.3) = 0 excellent
        "  2  V2  V2名  85.00  —  —  +0.00  -0.00  85.00  Good",
        "  3  V3  V3名  50.00  —  —  +0.00  -0.00  50.00  Fail  bottom of class",
    ]
    bad = await cli("assess", "preview", "2027", "--cutoff", "31/12/2027")
    assert (bad.code, bad.err.strip()) == (1, "截止日期“31/12/2027”无效，请写成 YYYY-MM-DD")


async def test_preview_uses_the_round_cutoff_and_rules_unless_told(cli: Cli, rig: Rig, tmp_path: Path) -> None:
    s = Scene(rig.db, rig.clock)
    await s.simple(await s.unit("V1", "村"), 90, planned=100)  # reported 2027-06-01
    strict = RULES_TOML.replace("completion = 0.70, peer = 0.15, inspection = 0.15",
                                "completion = 0.5, peer = 0.25, inspection = 0.25")
    async with rig.db.uow() as uow:
        uow.session.add(AssessmentRound(year=2027, rules_toml=strict, rules_hash="h", cutoff=date(2027, 5, 31),
                                        opened_at=rig.clock.now()))
        await uow.commit()
    at_round = await cli("assess", "preview", "2027", DUBAN_LOCALE="en")
    assert "cut-off 2027-05-31" in at_round.out
    assert "  1  V1  V1名  0.00  —  —  +0.00  -0.00  0.00  Fail" in at_round.out  # before the June report
    rules_file = tmp_path / "r.toml"
    rules_file.write_text(RULES_TOML, encoding="utf-8")
    later = await cli("assess", "preview", "2027", "--cutoff", "2027-12-31", "--rules", str(rules_file),
                      DUBAN_LOCALE="en")
    assert "  1  V1  V1名  90.00  —  —  +0.00  -0.00  90.00  Good" in later.out  # 1 unit: no excellent quota
