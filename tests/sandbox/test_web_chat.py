"""The web chat in a real browser (Playwright with Debian's Chromium): a village cadre files a report with
/report and buttons; an inspector sends a photo file and a location and confirms a visit that finds less than
the cadre claimed; the clock moves a working day and the village's linked leader receives the red warning
and acknowledges it; the clock moves a week and a reminder arrives. No console errors on the way."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.sandbox.photos import site_photo
from tests.support.sandboxrig import CADRE, INSPECTOR, LEADER, SandboxProcess

CHROMIUM = "/usr/bin/chromium"
SITE = (30.625, 104.06)  # 高标准农田 of 红星村 (MB2026-07's site point, radius 300 m)
TZ = ZoneInfo("Asia/Shanghai")
expect.set_options(timeout=20_000)  # the bot answers in milliseconds, but the test machine may be busy


class Chat:
    """The page as a person uses it; what the bot says is looked for among the messages newer than the last
    thing done (older messages of the demo's history carry the same buttons)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.seen = 0

    async def mark(self) -> None:
        self.seen = await self.page.locator("#messages > .msg").count()

    def says(self, text: str):
        return self.page.locator(f"#messages > .msg.bot:nth-child(n+{self.seen + 1})", has_text=text)

    async def choose(self, person: int) -> None:
        await self.page.click(f".person[data-id='{person}']")
        await expect(self.page.locator(f"#conversation[data-person='{person}']")).to_be_visible()
        await self.mark()

    async def type(self, text: str) -> None:
        await self.mark()
        await self.page.fill("#text", text)
        await self.page.press("#text", "Enter")

    async def press(self, label: str) -> None:
        """The button ``label`` of the bot's newest answer."""
        button = self.page.locator(f"#messages > .msg.bot:nth-child(n+{self.seen + 1}) .inline button",
                                   has_text=label).last
        await button.wait_for()
        await self.mark()
        await button.click()


@pytest.fixture
async def browser():
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_report_visit_push_acknowledgement_and_reminder_in_the_browser(demo_data, browser) -> None:
    async with SandboxProcess(demo_data) as sandbox:
        page = await browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(sandbox.url)
        chat = Chat(page)

        # a village cadre: /report, the target by its button, the value, skip the note, done, confirm
        await chat.choose(CADRE)
        await chat.type("/report")
        await chat.press("MB2026-07")
        await expect(chat.says("请输入截至目前的累计完成值")).to_be_visible()
        await chat.type("230")
        await expect(chat.says("已识别为：230 亩")).to_be_visible()
        await chat.press("跳过")
        await chat.press("完成")
        await expect(chat.says("累计完成：230 亩")).to_be_visible()
        await chat.press("确认提交")
        await expect(chat.says("已提交")).to_contain_text("230 亩")

        # an inspector at the site: a location through the reply keyboard, a photo sent as a file (EXIF kept)
        await chat.choose(INSPECTOR)
        await chat.type("/inspect 红星村")
        await chat.press("MB2026-07")
        await expect(chat.says("发送当前位置")).to_be_visible()
        await chat.mark()
        await page.locator("#keyboard button", has_text="发送当前位置").click()
        await page.fill("#lat", str(SITE[0]))
        await page.fill("#lon", str(SITE[1]))
        await page.click("#send-location")
        await expect(chat.says("位置已记录")).to_be_visible()
        await expect(page.locator("#keyboard")).to_be_hidden()
        now = datetime.fromisoformat((await sandbox.call("GET", "/api/state"))["now"])
        photo = site_photo(7, taken=now - timedelta(minutes=15), gps=(SITE[0] + 0.0002, SITE[1]))
        await chat.mark()
        async with page.expect_file_chooser() as chooser:
            await page.click("#attach-file")
        await (await chooser.value).set_files(files=[{"name": "IMG_2031.jpg", "mimeType": "image/jpeg",
                                                      "buffer": photo}])
        note = chat.says("照片 1 已收到")
        await expect(note).to_contain_text("拍摄于")
        await expect(note).not_to_contain_text("⚠️")
        await chat.type("/done")
        await expect(chat.says("现场发现")).to_be_visible()
        await chat.type("灌渠未动工，田间道路完成一半")
        await expect(chat.says("单位上报的累计完成值：230 亩")).to_be_visible()  # the cadre's claim
        await chat.type("100")
        await chat.press("一般")
        await chat.press("确认提交")
        await expect(chat.says("督查记录已提交")).to_be_visible()

        # a working day later the tick finds 红星村 far behind on the verified value: its leader is told
        await page.click("[data-step='day']")
        await expect(page.locator("[data-step='day']")).to_be_enabled(timeout=60_000)
        await expect(page.locator(f".person[data-id='{LEADER}'] .badge")).to_be_visible()
        await chat.choose(LEADER)
        push = page.locator("#messages > .msg.bot", has_text="高标准农田建设").filter(
            has_text="红星村").filter(has_text="严重滞后").last
        await expect(push).to_be_visible()
        await push.locator(".inline button", has_text="确认").click()
        await expect(push).to_contain_text("已由 刘县长")

        # a week later the cadre is reminded of a report that is due
        reminders = [m for m in await sandbox.chat(CADRE) if "未报送进度" in m["html"]]
        await page.click("[data-step='week']")
        await expect(page.locator("[data-step='week']")).to_be_enabled(timeout=120_000)
        await expect(page.locator(f".person[data-id='{CADRE}'] .badge")).to_be_visible()
        await chat.choose(CADRE)
        await expect(page.locator("#messages > .msg.bot", has_text="未报送进度")).to_have_count(len(reminders) + 1)
        shown = await page.locator("#now").get_attribute("datetime")
        assert shown is not None and datetime.fromisoformat(shown) - now >= timedelta(days=7)

        # a member of the public opens a village's survey link (a deep link) and answers
        await page.click("#new-public")
        await expect(page.locator("#hint")).to_be_visible()
        await chat.mark()
        await page.locator("#survey-links a", has_text="红星村").click()
        await expect(chat.says("红星村 · 2026年度群众满意度测评")).to_be_visible()
        await chat.press("基本满意")
        await expect(page.locator("#messages > .msg.bot").last).to_contain_text("基本满意")
        assert problems == []
