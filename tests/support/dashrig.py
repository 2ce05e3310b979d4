"""The dashboard under test: the real bot (polling the fake Bot API) and our real web server on a free port,
a small seeded county, and an HTTP client with its own cookie jar (a browser's stand-in)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import aiohttp
from telegram.ext import Application

from bot.serve.web import WebServer
from models.alerts import Alert, AlertDelivery
from models.core import EvidenceFile
from models.enums import Role
from models.inspection import Inspection, InspectionPhoto
from models.plan import Assignment, LeaderLink, LeadingGroup, Target
from models.progress import ProgressReport
from services.core.storage import LocalStorage
from services.dashboard import access
from tests.support.botrig import Rig, make_settings, running_bot
from tests.support.factories import add_person, add_unit
from tests.support.photos import jpeg

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Served:
    server: WebServer
    app: Application
    root: str


@asynccontextmanager
async def dashboard_bot(rig: Rig, **overrides: Any) -> AsyncIterator[Served]:
    """The bot polling the fake, and our web server (DUBAN_WEB_PORT, no webhooks) serving its dashboard."""
    server = WebServer(rig.settings, host="127.0.0.1", port=0, base_path="/", webhook=False)
    await server.start()
    root = f"http://127.0.0.1:{server.port}"
    rig.settings = make_settings(rig.fake, rig.db.url, rig.settings.evidence_dir, public_url=root, **overrides)
    try:
        async with running_bot(rig) as app:
            server.watch("default", app)
            try:
                yield Served(server, app, root)
            finally:
                server.unmount("default")
    finally:
        await server.stop()


def init_data(bot_token: str, user_id: int, auth_date: int, **extra: str) -> str:
    """Mini App initData signed as Telegram signs it
    (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app)."""
    fields = {"auth_date": str(auth_date), "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
              "user": json.dumps({"id": user_id, "first_name": "刘", "language_code": "zh"}), **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def client() -> aiohttp.ClientSession:
    """A browser's stand-in: keeps the session cookie (also for 127.0.0.1), never follows redirects itself."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(served: Served, session: aiohttp.ClientSession, rig: Rig, person_code: str) -> None:
    token = await access.create_login(person_code, actor="test", uow=rig.db.uow(), clock=rig.clock)
    async with session.get(f"{served.root}/dashboard/login?t={token}", allow_redirects=False) as r:
        assert r.status == 303, await r.text()


def mini_app_url(served: Served, data: str) -> str:
    """The page as Telegram opens a Mini App: initData in the fragment's ``tgWebAppData``."""
    return f"{served.root}/dashboard/?c=default#tgWebAppData={quote(data, safe='')}&tgWebAppVersion=8.0"


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as r:
        return r.status, await r.json(content_type=None)


async def seed(db, clock, evidence_dir) -> dict[str, Any]:
    """A township with two villages and a department; the leader 刘县长 is linked to 青山村 (V1) only.

    Targets run over 2027 (deadline 2027-12-31, baseline 0, no milestones), so on 2027-03-22 (the test clock)
    80 of 364 days have passed and 21.978% of each plan is expected:
    - V1 · A1 生猪出栏 (industry), plan 100: reported 30 on 03-01, but an inspection on 03-10 verified 10:
      effective 10, expected 21.978, pace 0.455 < 0.7 → red (its photo flagged off-site);
    - V1 · B1 招商项目 (investment), plan 50: reported 12: expected 10.989, pace 1.092 → on track (green);
    - V2 · A1, plan 100: reported 18: pace 0.819 (0.7 ≤ 0.819 < 0.9) → yellow;
    - D1 · C1 项目落实 (project delivery), plan 10: no report → pace 0 → red.
    """
    t1 = await add_unit(db, clock, code="T1", name="青山镇", kind="township", unit_class="township")
    v1 = await add_unit(db, clock, code="V1", name="青山村")
    v2 = await add_unit(db, clock, code="V2", name="河口村")
    d1 = await add_unit(db, clock, code="D1", name="农业农村局", kind="department", unit_class="department")
    people = {
        "leader": await add_person(db, clock, name="刘县长", telegram_user_id=400, roles=(Role.LEADER,), code="L1"),
        "cadre2": await add_person(db, clock, name="王五", unit=v2, telegram_user_id=201, code="C2"),
        "admin": await add_person(db, clock, name="目标办", telegram_user_id=500, roles=(Role.ADMIN,), code="A0"),
        "inspector": await add_person(db, clock, name="赵督查", telegram_user_id=300, roles=(Role.INSPECTOR,),
                                      code="I1"),
    }
    stored = LocalStorage(evidence_dir)
    photo = jpeg(3)
    digest, key = stored.put(photo)
    async with db.uow() as uow:
        s = uow.session
        for unit in (v1, v2):
            unit.parent_id = t1.id
            s.add(unit)
        t1.latitude, t1.longitude = 30.60, 104.00
        v1.latitude, v1.longitude = 30.62, 104.05
        s.add(t1)
        group = LeadingGroup(code="G1", name="农业产业化领导小组")
        s.add(group)
        await s.flush()
        s.add(LeaderLink(leader_person_id=people["leader"].id, kind="lagging_village", unit_id=v1.id))
        targets = {}
        for code, title, category, in (("A1", "生猪出栏", "industry"), ("B1", "招商项目", "investment"),
                                       ("C1", "重点项目落实", "project_delivery")):
            targets[code] = Target(code=code, year=2027, title=title, category=category, measure="头",
                                   mode="continuous", deadline=date(2027, 12, 31))
            s.add(targets[code])
        await s.flush()
        a = {}
        for name, unit, target, plan in (("v1a", v1, "A1", "100"), ("v1b", v1, "B1", "50"),
                                         ("v2a", v2, "A1", "100"), ("d1c", d1, "C1", "10")):
            a[name] = Assignment(target_id=targets[target].id, unit_id=unit.id, planned_value=Decimal(plan))
            s.add(a[name])
        await s.flush()
        a["v1a"].site_latitude, a["v1a"].site_longitude = 30.63, 104.06
        reporter = people["cadre2"].id
        for name, value, day in (("v1a", "30", 1), ("v1b", "12", 5), ("v2a", "18", 5)):
            s.add(ProgressReport(assignment_id=a[name].id, reporter_person_id=reporter, value=Decimal(value),
                                 confirmed_at=datetime(2027, 3, day, 10, tzinfo=TZ)))
        visit = Inspection(inspector_person_id=people["inspector"].id, unit_id=v1.id, assignment_id=a["v1a"].id,
                           visited_at=datetime(2027, 3, 10, 11, tzinfo=TZ), latitude=30.64, longitude=104.07,
                           claimed_value=Decimal(30), verified_value=Decimal(10), rating="poor",
                           flags=[{"kind": "off_site", "params": {"distance_m": 900, "radius_m": 300}}])
        evidence = EvidenceFile(sha256=digest, size=len(photo), mime_type="image/jpeg", storage_key=key,
                                telegram_file_id="photo-1", created_at=clock.now())
        s.add(visit)
        s.add(evidence)
        await s.flush()
        s.add(InspectionPhoto(inspection_id=visit.id, evidence_id=evidence.id))
        alert = Alert(key="pace:v1a:2027-03-20", kind="pace", level="red", period="2027-03-20",
                      assignment_id=a["v1a"].id, created_at=clock.now(), stage=1, stage_at=clock.now())
        s.add(alert)
        await s.flush()
        s.add(AlertDelivery(alert_id=alert.id, person_id=people["leader"].id, stage=1, created_at=clock.now()))
        await uow.commit()
    return {"units": {"T1": t1, "V1": v1, "V2": v2, "D1": d1}, "assignments": {k: v.id for k, v in a.items()},
            "evidence": evidence.id, "alert": alert.id, **people}
