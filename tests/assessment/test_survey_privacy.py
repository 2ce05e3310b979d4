"""Nothing links an account to a survey answer beyond the comment window, and the database alone cannot tell
who answered: the respondent's hash needs DUBAN_SURVEY_SECRET, which lives outside it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

from models.assessment import SurveyResponse
from models.core import KeyValue
from services.assessment import survey, survey_keys
from tests.assessment.test_survey import a_link, responses
from tests.support.botrig import SURVEY_SECRET, running_bot

STRANGER = 7_351_864_209  # long enough that no hash or date in the database holds these digits by chance


async def _answer(rig, token: str, user_id: int = STRANGER) -> None:
    user = rig.fake.user(user_id)
    await user.send_text(f"/start s_{token}")
    await user.press_button(await user.wait_reply(), "不满意")
    await user.wait_reply()


async def _everything(rig) -> str:
    """Every value of every row of every table, as text (what a stolen backup shows)."""
    async with rig.db.uow() as uow:
        connection = await uow.session.connection()
        names = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        dump = []
        for name in names:
            for row in (await uow.session.exec(text(f'SELECT * FROM "{name}"'))).all():  # type: ignore[call-overload]
                dump.append(" ".join(str(v) for v in row))
        return "\n".join(dump)


async def test_after_the_comment_window_no_row_links_the_account_to_its_answer(bot) -> None:
    """An answer without a comment leaves a draft naming the answer; the tick's purge after the 30-minute window
    removes it. Then the account's id appears nowhere, and the hash the database's own secret gives for the
    account is not the stored respondent (it needs the outside secret too)."""
    token = await a_link(bot)
    await _answer(bot, token)
    assert str(STRANGER) in await _everything(bot)  # during the window: the comment draft (chat and user)
    bot.clock.advance(timedelta(minutes=31))
    assert await survey.purge_comments(uow=bot.db.uow(), clock=bot.clock) == 1
    dump = await _everything(bot)
    (answer,) = await responses(bot)
    async with bot.db.uow() as uow:
        inner = bytes.fromhex((await uow.session.get(KeyValue, survey_keys.DB_SECRET)).value)
    from_db = hmac.new(inner, f"2027:{answer.unit_id}:{STRANGER}".encode(), hashlib.sha256).hexdigest()
    assert str(STRANGER) not in dump and from_db not in dump
    assert answer.respondent == survey_keys.respondent_key(inner, SURVEY_SECRET, 2027, answer.unit_id, STRANGER)


async def test_without_the_outside_secret_nobody_can_answer(rig) -> None:
    token = await a_link(rig)
    async with running_bot(rig, survey_secret=None):
        user = rig.fake.user(STRANGER)
        await user.send_text(f"/start s_{token}")
        assert "暂未开放" in (await user.wait_reply()).text
    assert await responses(rig) == []


async def test_answers_kept_before_the_secret_are_rekeyed_at_start_and_still_recognised(rig) -> None:
    """A county that ran the survey before DUBAN_SURVEY_SECRET existed has hashes keyed with its database secret
    alone. The first start with the secret wraps them; the same account is still refused a second answer. Another
    secret later closes the survey."""
    token = await a_link(rig)
    async with rig.db.uow() as uow:
        inner = await survey_keys.db_secret(uow.session, rig.clock)
        link = (await uow.session.exec(select(survey.SurveyLink))).one()
        old = hmac.new(inner, f"2027:{link.unit_id}:{STRANGER}".encode(), hashlib.sha256).hexdigest()
        uow.session.add(SurveyResponse(year=2027, unit_id=link.unit_id, respondent=old, answer="basic",
                                       answered_at=rig.clock.now()))
        await uow.commit()
    async with running_bot(rig):
        user = rig.fake.user(STRANGER)
        await user.send_text(f"/start s_{token}")
        assert "已于 2027-03-22" in (await user.wait_reply()).text
    (answer,) = await responses(rig)
    assert answer.respondent == survey_keys.respondent_key(inner, SURVEY_SECRET, 2027, link.unit_id, STRANGER)
    async with running_bot(rig, survey_secret="another-secret-0123456789abcdef"):
        await user.send_text(f"/start s_{token}")
        assert "暂未开放" in (await user.wait_reply()).text
