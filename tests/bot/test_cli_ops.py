"""``duban jobs tick`` and ``duban calendar load`` from the command line."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import select

from models.alerts import Alert
from models.calendar import CalendarYear
from models.core import AuditLog
from tests.support.alertrig import add_target, at, county, outbox_rows, report


async def test_jobs_tick_dry_run_prints_json_lines_and_writes_nothing(cli, rig) -> None:
    c = await county(rig.db, rig.clock)
    a = await add_target(rig.db, c, "Y", planned="1000", deadline=date(2026, 12, 31), title="生猪出栏")
    await report(rig.db, a, "300", at(date(2026, 6, 30)), c["cadre"])
    dry = await cli("jobs", "tick", "--at", "2026-07-01T09:00", "--dry-run")
    assert dry.code == 0, dry.err
    lines = [json.loads(line) for line in dry.out.strip().splitlines()]  # one push per person
    assert [line["person"] for line in lines] == [c[k].code for k in ("cadre", "cadre_en", "leader", "head")]
    cadre, _, leader, _ = lines
    assert set(cadre) == {"person", "chat_id", "alerts", "text", "buttons"}
    # The unit: the red pace alert and its warning notice; the leader: the pace alert alone, in full.
    assert cadre["alerts"] == 2 and "🔴 红色 2" in cadre["text"] and "预警通知单 生猪出栏" in cadre["text"]
    assert cadre["buttons"] == ["全部 2 条 ▸", "✔ 全部确认"] and len(cadre["text"]) <= 600
    assert leader["alerts"] == 1 and "红色预警" in leader["text"] and "生猪出栏" in leader["text"]
    assert leader["buttons"] == ["✔ 确认 #1", "详情 #1", "催报 #1", "督办 #1"]
    assert await outbox_rows(rig.db) == []
    real = await cli("jobs", "tick", "--at", "2026-07-01T09:00")
    assert real.code == 0 and "4" in real.out
    async with rig.db.uow() as uow:
        assert len((await uow.session.exec(select(Alert))).all()) == 2  # the pace alert and its warning notice
    # The four alerts, and the day's audit head for the county's admin (services/core/audit_chain.py).
    assert sorted(m.kind for m in await outbox_rows(rig.db)) == ["alerts"] * 4 + ["audit.head"]
    # Quiet hours: at 23:00 (read in Asia/Shanghai) nothing new; an offset is honoured too.
    late = await cli("jobs", "tick", "--at", "2026-07-02T15:00:00+00:00", "--dry-run")
    assert late.out.strip() == ""
    assert (await cli("jobs", "tick", "--at", "yesterday")).code == 2


async def test_calendar_load_validates_audits_and_is_idempotent(cli, rig, tmp_path) -> None:
    good = tmp_path / "2027.toml"
    good.write_text('year = 2027\nholidays = ["2027-02-08"]\nworkdays = ["2027-02-14"]\n', encoding="utf-8")
    assert (await cli("calendar", "load", str(good))).code == 0
    assert (await cli("calendar", "load", str(good))).code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('year = 2027\nholidays = ["2028-01-01"]\nworkdays = ["2027-02-15"]\n', encoding="utf-8")
    refused = await cli("calendar", "load", str(bad))
    assert refused.code == 1 and "2028-01-01" in refused.err and "2027-02-15" in refused.err
    assert (await cli("calendar", "load", str(tmp_path / "missing.toml"))).code == 1
    async with rig.db.uow() as uow:
        row = await uow.session.get(CalendarYear, 2027)
        assert row.holidays == ["2027-02-08"] and row.workdays == ["2027-02-14"]
        audits = (await uow.session.exec(select(AuditLog).where(AuditLog.entity == "calendar_year"))).all()
        assert len(audits) == 1


async def test_notice_draft_from_the_command_line(cli, rig) -> None:
    nothing = await cli("notice", "draft", "--period", "2026-Q1")
    assert nothing.code == 1 and nothing.err.startswith("duban: ")
    bad = await cli("notice", "draft", "--period", "Q5")
    assert bad.code == 1 and "Q5" in bad.err
