"""The command line: configuration errors, invitations, people — exit codes and what it prints."""

from __future__ import annotations

import re

from sqlmodel import select

from models.core import AuditLog, KeyValue
from models.enums import Role
from models.people import Invitation, Person
from tests.support.factories import add_person, add_unit

LINK_RE = re.compile(r"^https://t\.me/duban_test_bot\?start=i_[A-Za-z0-9_-]{22}$")


async def test_run_without_a_token_stops_with_one_line_naming_it(cli) -> None:
    result = await cli("run", DUBAN_TOKEN="")
    assert result.code == 2
    assert result.err.strip().splitlines()[-1].startswith("duban: DUBAN_TOKEN is not set")


async def test_a_malformed_setting_names_the_variable(cli) -> None:
    result = await cli("migrate", DUBAN_TIMEZONE="Mars/Olympus")
    assert result.code == 2 and "DUBAN_TIMEZONE" in result.err
    result = await cli("migrate", DUBAN_ADMIN_IDS="12, abc")
    assert result.code == 2 and "DUBAN_ADMIN_IDS" in result.err
    result = await cli("migrate", DUBAN_DATABASE_URL="mysql://x/y")
    assert result.code == 2 and "DUBAN_DATABASE_URL" in result.err


async def test_invite_create_learns_the_username_by_getme_and_prints_only_links(cli, rig) -> None:
    await add_unit(rig.db, rig.clock, code="V010")
    result = await cli("invite", "create", "--role", "cadre", "--unit", "V010", "--count", "3")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert len(lines) == 3 and all(LINK_RE.match(line) for line in lines)
    assert len(set(lines)) == 3
    async with rig.db.uow() as uow:
        assert (await uow.session.get(KeyValue, "bot_username")).value == "duban_test_bot"
        stored = (await uow.session.exec(select(Invitation.code_hash))).all()
        # Only hashes are stored, never the codes.
        assert len(stored) == 3 and not any(line.rsplit("i_", 1)[1] in stored for line in lines)


async def test_invite_create_refuses_bad_input_with_the_right_exit_code(cli, rig) -> None:
    result = await cli("invite", "create", "--role", "cadre")
    assert result.code == 2 and "--unit" in result.err
    result = await cli("invite", "create", "--role", "mayor", "--unit", "V1")
    assert result.code == 2 and "mayor" in result.err
    result = await cli("invite", "create", "--role", "cadre", "--unit", "NOPE", DUBAN_BOT_USERNAME="duban_test_bot")
    assert result.code == 1 and "NOPE" in result.err


async def test_without_username_and_without_a_working_bot_api_it_names_the_variable(cli, rig) -> None:
    await add_unit(rig.db, rig.clock, code="V011")
    result = await cli("invite", "create", "--role", "cadre", "--unit", "V011",
                       DUBAN_BOT_API_BASE_URL="http://127.0.0.1:9/bot")
    assert result.code == 2 and "DUBAN_BOT_USERNAME" in result.err


async def test_invite_list_and_revoke(cli, rig) -> None:
    await add_unit(rig.db, rig.clock, code="V012")
    link = (await cli("invite", "create", "--role", "cadre", "--unit", "V012")).out.strip()
    assert (await cli("invite", "revoke", link)).code == 0
    again = await cli("invite", "revoke", link)
    assert again.code == 1 and "已作废" in again.err
    listing = await cli("invite", "list", DUBAN_LOCALE="en")
    assert listing.code == 0
    assert "revoked" in listing.out.splitlines()[1] and "V012" in listing.out


async def test_invite_export_gives_each_unjoined_person_one_fresh_link(cli, rig, tmp_path) -> None:
    from openpyxl import load_workbook

    unit = await add_unit(rig.db, rig.clock, code="V013", name="白云村")
    await add_person(rig.db, rig.clock, name="甲", unit=unit, code="P1")
    await add_person(rig.db, rig.clock, name="乙", unit=unit, code="P2", telegram_user_id=5)  # joined
    first = await cli("invite", "export", "--out", str(tmp_path / "inv.xlsx"))
    assert first.code == 0, first.err
    second = await cli("invite", "export", "--out", str(tmp_path / "inv2.xlsx"))
    assert second.code == 0
    rows = list(load_workbook(tmp_path / "inv2.xlsx").active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "P1" and rows[1][3] == "白云村"
    assert LINK_RE.match(rows[1][5])
    async with rig.db.uow() as uow:
        states = sorted((i.revoked_at is None) for i in (await uow.session.exec(select(Invitation))).all())
        assert states == [False, True]  # the older link was revoked


async def test_person_deactivate_ends_access_at_once(cli, bot) -> None:
    unit = await add_unit(bot.db, bot.clock, code="V014")
    await add_person(bot.db, bot.clock, name="丙", unit=unit, code="P9", telegram_user_id=321, roles=(Role.CADRE,))
    user = bot.fake.user(321)
    await user.send_text("/me")
    assert "丙" in (await user.wait_reply()).text
    result = await cli("person", "deactivate", "P9")
    assert result.code == 0 and "P9" in result.out
    await user.send_text("/me")
    assert "已停用" in (await user.wait_reply()).text
    async with bot.db.uow() as uow:
        person = (await uow.session.exec(select(Person).where(Person.code == "P9"))).one()
        assert person.active is False
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "person.deactivate"))).one()
    assert (await cli("person", "deactivate", "NOBODY")).code == 1


async def test_person_move_moves_unit_bound_roles(cli, rig) -> None:
    from services.people.viewer import viewer_for

    a = await add_unit(rig.db, rig.clock, code="V015")
    await add_unit(rig.db, rig.clock, code="V016", name="新村")
    await add_person(rig.db, rig.clock, name="丁", unit=a, code="P10", telegram_user_id=654)
    result = await cli("person", "move", "P10", "--unit", "V016")
    assert result.code == 0, result.err
    viewer = await viewer_for(654, uow=rig.db.uow())
    assert viewer is not None and viewer.unit_code == "V016"
    assert [m.unit_code for m in viewer.memberships] == ["V016"]
