"""The demo county, made the way a county would make it: the office's plan workbook goes through the plan
import, every person joins by their invitation link, cadres file weeks of reports with /report (some behind
pace, one unit never), inspectors visit with /inspect and site photos carrying EXIF time and GPS (one taken
off-site, one re-used from an earlier visit), the office opens a supervision item with /newitem, and the
scheduler's tick runs on every working day in between, so reminders and alerts are pushed as they would be.
Everything goes through the services and the bot's own dialogues at the local Bot API; nothing is written
behind their backs. The chats keep that history."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from bot.sandbox import demo_plan
from bot.sandbox.botapi.chats import FakeUser, SentMessage
from bot.sandbox.clock import next_week, next_working_day
from bot.sandbox.photos import site_photo
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.state import Persona, Place
from config.i18n import t
from services.assessment.survey import ensure_link
from services.calendar.workdays import load_calendar
from services.people.invite import create_for_unjoined, link
from services.plan.importer import import_plan
from services.plan.workbook import build_workbook

log = logging.getLogger("duban.sandbox")

HISTORY_WEEKS = 6
BEHIND = {"XZ02", "XZ03V01"}  # units that report well behind pace
SILENT = {"QY03"}  # a unit that never reports (missing-report nudges, then alerts)
WAIT = 20.0
INSTRUCTION = "刘县长批示：凤凰村高标准农田进度严重滞后，请白云乡督促整改，5个工作日内报送整改情况。"


def _workbook(year: int) -> bytes:
    out = io.BytesIO()
    build_workbook(demo_plan.build(year)).save(out)
    return out.getvalue()


class Director:
    """Plays the people of the demo county through the sandbox's Bot API."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.people: dict[str, Persona] = {}
        self.reports = 0
        self.inspections = 0

    def user(self, code: str) -> FakeUser:
        return self.sb.user(self.people[code])

    async def settle(self) -> None:
        assert self.sb.app is not None
        await self.sb.app.bot_data.delivery.settle(WAIT)

    async def say(self, user: FakeUser, text: str, button: str | None = None) -> SentMessage:
        """Send ``text``; the bot's answer (the one carrying ``button``, when given: a push may come between)."""
        await user.send_text(text)
        if button is None:
            return await user.wait_reply(timeout=WAIT)
        return await user.wait_reply(lambda m: any(button in (b or "") for b, _ in m.buttons()), timeout=WAIT)

    async def press(self, user: FakeUser, message: SentMessage, label: str) -> SentMessage:
        await user.press_button(message, label)
        return await user.wait_reply(timeout=WAIT)

    # ------------------------------------------------------------------ the office
    async def import_plan(self, year: int) -> None:
        assert self.sb.db is not None
        report = await import_plan(_workbook(year), db_uow=self.sb.db.uow(), clock=self.sb.clock,
                                   actor="sandbox:demo")
        if report.problems:
            raise RuntimeError(f"the demo plan does not import: {report.problems[:3]}")
        for row in demo_plan.units():
            self.sb.state.places.append(Place(row["code"], row["name"], row["latitude"], row["longitude"]))

    async def register_everyone(self) -> None:
        """Every person joins by the invitation link the office exported for them."""
        assert self.sb.db is not None
        invites = await create_for_unjoined(ttl=timedelta(days=30), actor="sandbox:demo", uow=self.sb.db.uow(),
                                            clock=self.sb.clock)
        codes = {i.person_code: i for i in invites}
        units = {row["code"]: row["name"] for row in demo_plan.units()}
        for index, (code, name, roles, unit, _, lang) in enumerate(demo_plan.PEOPLE):
            persona = Persona(demo_plan.FIRST_USER_ID + index, name, roles[0], units.get(unit, ""), lang, code)
            self.sb.state.personas.append(persona)
            self.people[code] = persona
            url = link(self.sb.fake.bot_username, codes[code].code)
            await self.say(self.sb.user(persona), f"/start {url.rpartition('=')[2]}")
        await self.settle()

    # ------------------------------------------------------------------ cadres
    async def report(self, code: str, target: str, value: Decimal, note: str | None) -> None:
        persona = self.people[code]
        user = self.sb.user(persona)
        await self.say(user, f"/report {target}")
        await self.say(user, f"{value.normalize():f}")
        await self.say(user, note or "/skip")
        confirm = t("report.btn_confirm", persona.lang)
        summary = await self.say(user, "/done", confirm)
        await self.press(user, summary, confirm)
        self.reports += 1

    async def reporting_round(self, day: date, year: int, week: int) -> None:
        """Each cadre reports two targets of their unit (in turn): on pace, or behind for the units in
        ``BEHIND``."""
        plan = demo_plan.build(year)
        targets = {row["code"]: row for row in plan["targets"]}
        for code, _, roles, unit, _, _ in demo_plan.PEOPLE:
            if "cadre" not in roles or unit in SILENT:
                continue
            mine = [row for row in plan["assignments"] if row["unit_code"] == unit]
            for i in range(min(2, len(mine))):
                row = mine[(week + i) % len(mine)]
                target = targets[row["target_code"]]
                share = max(0.0, (day - date(year, 1, 1)).days / (target["deadline"] - date(year, 1, 1)).days)
                if target["direction"] == "lower":
                    value = Decimal(0)
                else:
                    pace = 0.45 if unit in BEHIND else 1.05
                    base, planned = row["baseline_value"], row["planned_value"]
                    value = (base + (planned - base) * Decimal(str(round(min(1.0, share * pace), 3)))).quantize(
                        Decimal(1))
                note = "按计划推进" if persona_lang(code) == "zh" else "on schedule"
                await self.report(code, target["code"], value, note if unit not in BEHIND else None)
        await self.settle()

    # ------------------------------------------------------------------ inspectors
    async def inspect(self, code: str, unit_name: str, target: str, at: tuple[float, float], photo: bytes,
                      findings: str, value: str | None) -> None:
        persona = self.people[code]
        user = self.sb.user(persona)
        targets = await self.say(user, f"/inspect {unit_name}")
        await self.press(user, targets, target)
        await user.send_location(*at, horizontal_accuracy=8.0)
        await user.wait_replies(2, timeout=WAIT)
        await user.send_document(photo, f"IMG_{self.inspections + 1:04d}.jpg", "image/jpeg")
        await user.wait_reply(timeout=WAIT)
        await self.say(user, "/done")
        good = t("inspect.rating.good", persona.lang)
        if value is not None:
            await self.say(user, findings)
            ask = await self.say(user, value, good)
        else:
            ask = await self.say(user, findings)
            await user.press(ask, "ins:skip")
            ask = await user.wait_reply(lambda m: any(good in (b or "") for b, _ in m.buttons()), timeout=WAIT)
        summary = await self.press(user, ask, good)
        await self.press(user, summary, t("inspect.btn_confirm", persona.lang))
        self.inspections += 1
        await self.settle()

    async def visits(self, year: int) -> None:
        """Three visits to the fields of 高标准农田: on site; a photo taken 5 km away; a photo re-used."""
        now = self.sb.clock.now()
        units = {row["code"]: row for row in demo_plan.units()}
        target = f"MB{year}-07"
        red_star = units["XZ01V01"]
        site = (red_star["latitude"] + 0.003, red_star["longitude"])
        first = site_photo(1, taken=now - timedelta(minutes=40), gps=(site[0] + 0.0002, site[1] + 0.0001))
        await self.inspect("P006", red_star["name"], target, site, first, "田间道路已完工，灌渠在建。", "300")
        phoenix = units["XZ03V01"]
        site = (phoenix["latitude"] + 0.003, phoenix["longitude"])
        away = site_photo(2, taken=now - timedelta(minutes=20), gps=(site[0] + 0.045, site[1]))
        await self.inspect("P006", phoenix["name"], target, site, away, "现场仅完成土地平整，与上报进度不符。", "60")
        peach = units["XZ02V01"]
        site = (peach["latitude"] + 0.003, peach["longitude"])
        await self.inspect("P005", peach["name"], target, site, first, "照片与此前督查的照片相同，需核实。", None)

    # ------------------------------------------------------------------ the office again
    async def supervision_item(self, year: int) -> None:
        """The office passes a leader's instruction to the lagging village and its township, flagged."""
        persona = self.people["P001"]
        user = self.sb.user(persona)
        await self.say(user, "/newitem")
        await self.say(user, "XZ03V01 XZ03")
        await self.say(user, "5个工作日")
        summary = await self.say(user, INSTRUCTION)
        await user.press(summary, "ni:flag")
        summary = await user.wait_reply(timeout=WAIT)
        await self.press(user, summary, t("items.btn_confirm", persona.lang))
        await self.settle()

    async def survey_links(self, year: int) -> None:
        assert self.sb.db is not None
        links = []
        for row in demo_plan.units():
            if row["kind"] == "village":
                info = await ensure_link(year, row["code"], uow=self.sb.db.uow(), clock=self.sb.clock,
                                         actor="sandbox:demo")
                links.append({"unit": f"{row['code']} {row['name']}", "url": info.url(self.sb.fake.bot_username)})
        self.sb.state.notes["survey_links"] = links


def persona_lang(code: str) -> str:
    return next(p[5] for p in demo_plan.PEOPLE if p[0] == code)


async def build_demo(sandbox: Sandbox) -> None:
    """Build the demo county into a new sandbox; its clock ends where it started (or at the first working
    morning after the history, if that is later)."""
    assert sandbox.db is not None
    start = sandbox.clock.now()
    year = start.year
    sandbox.state.demo = "building"
    sandbox.save()
    calendar = await load_calendar(uow=sandbox.db.read_uow())
    history = datetime.combine(max(start.date() - timedelta(weeks=HISTORY_WEEKS), date(year, 1, 1)),
                               time(9), tzinfo=sandbox.tz)
    sandbox.clock.jump(next_working_day(history - timedelta(days=1), calendar))
    director = Director(sandbox)
    await director.import_plan(year)
    await director.register_everyone()
    week, day = 0, sandbox.clock.now()
    while True:
        last = day + timedelta(days=7) >= start
        if week % 3 == 0 or last:
            sandbox.clock.jump(day.replace(hour=10))
            await director.reporting_round(day.date(), year, week)
        if last:
            break
        week, until = week + 1, next_week(day, calendar)
        instant = next_working_day(sandbox.clock.now(), calendar)
        while instant <= until:  # the scheduler's tick on every working day
            await sandbox.tick_at(instant)
            await director.settle()
            instant = next_working_day(instant, calendar)
        day = sandbox.clock.now()
    sandbox.clock.jump(max(sandbox.clock.now().replace(hour=11), sandbox.clock.now()))
    await director.visits(year)
    await director.supervision_item(year)
    await director.survey_links(year)
    final = max(start, sandbox.clock.now() + timedelta(minutes=5))
    await sandbox.tick_at(final)
    await director.settle()
    sandbox.state.notes["counts"] = {"people": len(director.people), "reports": director.reports,
                                     "inspections": director.inspections}
    sandbox.state.notes["year"] = year
    sandbox.state.demo = "done"
    log.info("demo county built: %s", sandbox.state.notes["counts"])


