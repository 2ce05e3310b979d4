"""The counties file: `duban counties check` lists every problem exactly, `duban migrate --counties`
migrates every county's database, `duban run --counties` refuses an invalid file."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pydantic import SecretStr

from bot.serve.counties import County, county_settings, load_counties
from models.db import make_engine
from models.migrate import current_revision

ROOT = Path(__file__).resolve().parents[2]
TOKEN_A = "111111:AAAAAAAAAAAAAAAA"
TOKEN_B = "222222:BBBBBBBBBBBBBBBB"


def county(code: str = "lx", **fields: str) -> str:
    values = {"code": code, "name": "灵溪县", "token_env": "TOK_LX", "database_url": "sqlite:///lx.db", **fields}
    body = "".join(f'{k} = "{v}"\n' for k, v in values.items() if v is not None)
    return f"[[county]]\n{body}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "counties.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_valid_file_passes_and_lists_its_counties(cli, tmp_path) -> None:
    path = write(tmp_path, county("lx", bot_username="lx_duban_bot")
                 + county("ab", name="安北县", token_env="TOK_AB", database_url="postgresql://duban@db/duban_ab"))
    result = await cli("counties", "check", str(path), TOK_LX=TOKEN_A, TOK_AB=TOKEN_B, DUBAN_LOCALE="en")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["lx: 灵溪县: OK", "ab: 安北县: OK", "2 counties, all OK."]
    zh = await cli("counties", "check", str(path), TOK_LX=TOKEN_A, TOK_AB=TOKEN_B)
    assert zh.out.splitlines()[-1] == "共 2 个县，全部检查通过。"


async def test_every_problem_is_one_exact_line_and_exit_1(cli, tmp_path) -> None:
    text = (
        'version = 2\n'
        + county("lx", colour="red")                                        # unknown key
        + county("lx", token_env="TOK_AB", database_url="sqlite:///b.db")   # duplicate code
        + county(None, database_url="sqlite:///c.db", token_env="TOK_C")    # no code: "#3"
        + county("Bad Code", database_url="sqlite:///d.db", token_env="TOK_D")
        + county("nt", token_env="TOK_NONE", database_url="sqlite:///e.db")
        + county("mf", token_env="TOK_MALFORMED", database_url="sqlite:///f.db")
        + county("db", token_env="TOK_DB", database_url="mysql://x@y/z")
        + county("sh", token_env="TOK_SH", database_url=f"sqlite:///{tmp_path}/lx.db")  # = lx.db
        + county("st", token_env="TOK_ST", database_url="sqlite:///g.db")                # same token as lx
        + county("un", token_env="TOK_UN", database_url="sqlite:///h.db", bot_username="@un_bot")
        + county("mi", name=None, token_env="TOK_MI", database_url=None)
        + county("me", token_env="TOK_ME", database_url="sqlite://")
    )
    path = write(tmp_path, text)
    env = {"TOK_LX": TOKEN_A, "TOK_AB": TOKEN_B, "TOK_C": "333333:CCCCCCCCCCCC", "TOK_D": "444444:DDDDDDDDDDDD",
           "TOK_MALFORMED": "not-a-token", "TOK_DB": "555555:EEEEEEEEEEEE", "TOK_SH": "666666:FFFFFFFFFFFF",
           "TOK_ST": TOKEN_A, "TOK_UN": "777777:GGGGGGGGGGGG", "TOK_MI": "888888:HHHHHHHHHHHH",
           "TOK_ME": "999999:IIIIIIIIIIII"}
    result = await cli("counties", "check", str(path), **env)
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        "?: version: unknown key (the file holds [[county]] tables only)",
        "lx: colour: unknown key",
        "lx: code: duplicate: county #1 has the same code",
        "#3: code: missing",
        "#4: code: 'Bad Code' is not a county code (lowercase letters, digits, _ and - only)",
        "nt: token_env: TOK_NONE is not set in the environment",
        "mf: token_env: TOK_MALFORMED does not look like a bot token (digits:letters from @BotFather)",
        "db: database_url: must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB",
        "sh: database_url: the same database as county lx (each county needs its own database)",
        "st: token_env: the same bot token as county lx (each county has its own bot)",
        "un: bot_username: give the bot's username without the leading @",
        "mi: name: missing",
        "mi: database_url: missing",
        "me: database_url: must name a database (a file for SQLite, a database for PostgreSQL)",
    ]


async def test_a_file_that_is_not_a_counties_file_is_refused_in_one_line(cli, tmp_path) -> None:
    broken = write(tmp_path, "[[county]\ncode = 'lx'\n")
    result = await cli("counties", "check", str(broken))
    assert result.code == 1 and result.err.startswith("?: file: not valid TOML: ")
    assert len(result.err.splitlines()) == 1
    empty = write(tmp_path, "# nothing yet\n")
    assert (await cli("counties", "check", str(empty))).err.splitlines() == ["?: county: no [[county]] tables"]
    missing = await cli("counties", "check", str(tmp_path / "nope.toml"))
    assert missing.code == 1 and missing.err.splitlines() == [f"?: file: {tmp_path / 'nope.toml'} does not exist"]
    wrong_type = write(tmp_path, "[[county]]\ncode = 7\nname = '县'\ntoken_env = 'TOK_LX'\n"
                                 "database_url = 'sqlite:///x.db'\n")
    assert (await cli("counties", "check", str(wrong_type), TOK_LX=TOKEN_A)).err.splitlines() == [
        "#1: code: must be a non-empty string"]


async def test_the_example_counties_file_passes_with_its_tokens_set(cli) -> None:
    example = ROOT / "deploy" / "counties.example.toml"
    counties = load_counties(example, {}, require_tokens=False)
    assert len(counties) >= 2
    env = {c.token_env: f"{i}00000:EXAMPLETOKEN{i}XXXX" for i, c in enumerate(counties, 1)}
    result = await cli("counties", "check", str(example), **env)
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == len(counties) + 1
    without = await cli("counties", "check", str(example))
    assert without.code == 1 and all("is not set in the environment" in line for line in without.err.splitlines())


def test_each_county_gets_its_own_settings_and_inherits_the_rest(rig) -> None:
    settings = rig.settings.model_copy(update={"outbox_rate": 12.0, "locale": "en"})
    lx = County(code="lx", name="灵溪县", token_env="TOK_LX", database_url="sqlite+aiosqlite:///lx.db",
                bot_username="lx_duban_bot", bot_api_base_url="http://127.0.0.1:9/bot")
    own = county_settings(settings, lx, {"TOK_LX": TOKEN_A})
    assert own.token == SecretStr(TOKEN_A) and own.require_token() == TOKEN_A
    assert own.database_url == "sqlite+aiosqlite:///lx.db" and own.bot_username == "lx_duban_bot"
    assert own.bot_api_base_url == "http://127.0.0.1:9/bot"
    assert own.bot_api_file_url == settings.bot_api_file_url  # not given: inherited
    assert own.evidence_dir == settings.evidence_dir / "lx"  # files of two counties never mix
    assert own.outbox_rate == 12.0 and own.locale == "en" and own.timezone == settings.timezone


async def test_migrate_counties_upgrades_every_database_without_needing_tokens(cli, tmp_path) -> None:
    path = write(tmp_path, county("lx", database_url=f"sqlite:///{tmp_path}/lx.db")
                 + county("ab", name="安北县", token_env="TOK_AB", database_url=f"sqlite:///{tmp_path}/sub/ab.db"))
    result = await cli("migrate", "--counties", str(path), DUBAN_LOCALE="en")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["lx: 灵溪县: database migrated to the newest schema",
                                       "ab: 安北县: database migrated to the newest schema"]
    for name in ("lx.db", "sub/ab.db"):
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/{name}")
        try:
            assert await current_revision(engine) is not None
        finally:
            await engine.dispose()
    again = await cli("migrate", "--counties", str(path))  # at the newest already: nothing to do, still fine
    assert again.code == 0 and len(again.out.splitlines()) == 2


async def test_migrate_counties_refuses_an_invalid_file_and_touches_nothing(cli, tmp_path) -> None:
    path = write(tmp_path, county("lx", database_url=f"sqlite:///{tmp_path}/lx.db") + county("lx", colour="x"))
    result = await cli("migrate", "--counties", str(path), DUBAN_LOCALE="en")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"The counties file {path} has 3 problem(s); nothing was done:",
        "lx: colour: unknown key",
        "lx: code: duplicate: county #1 has the same code",
        "lx: database_url: the same database as county lx (each county needs its own database)",
    ]
    assert not (tmp_path / "lx.db").exists()


async def test_migrate_counties_reports_a_database_it_cannot_reach_and_migrates_the_others(cli, tmp_path) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    path = write(tmp_path, county("lx", database_url=f"sqlite:///{tmp_path}/blocked/lx.db")
                 + county("ab", token_env="TOK_AB", database_url=f"sqlite:///{tmp_path}/ab.db"))
    result = await cli("migrate", "--counties", str(path), DUBAN_LOCALE="en")
    assert result.code == 1
    assert result.out.splitlines() == ["ab: 灵溪县: database migrated to the newest schema"]
    assert result.err.startswith("lx: database_url: migration failed: ")


async def test_run_counties_refuses_an_invalid_file_before_starting_anything(tmp_path) -> None:
    path = write(tmp_path, county("lx", database_url=f"sqlite:///{tmp_path}/lx.db"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_") and k != "TOK_LX"}
    env.update({"DUBAN_LOCALE": "en", "PYTHONPATH": str(ROOT)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--counties", str(path), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err
    assert err.decode().splitlines()[-2:] == [f"The counties file {path} has 1 problem(s); nothing was done:",
                                              "lx: token_env: TOK_LX is not set in the environment"]
    assert not (tmp_path / "lx.db").exists()


def test_two_spellings_of_one_file_are_one_database(tmp_path) -> None:
    text = (county("aa", database_url=f"sqlite+aiosqlite:///{tmp_path}/one.db")
            + county("bb", token_env="TOK_BB", database_url=f"sqlite:///{tmp_path}/./one.db"))
    from bot.serve.errors import CountiesError

    try:
        load_counties(write(tmp_path, text), {"TOK_LX": TOKEN_A, "TOK_BB": TOKEN_B})
    except CountiesError as exc:
        assert exc.problems == ["bb: database_url: the same database as county aa (each county needs its own "
                                "database)"]
    else:
        raise AssertionError("two counties on one database were accepted")


def test_the_example_systemd_unit_runs_commands_that_exist() -> None:
    import shlex

    from bot.cli.main import build_parser
    from bot.cli.serve import cmd_counties_check, cmd_run

    unit = (ROOT / "deploy" / "duban.service").read_text(encoding="utf-8")
    lines = dict(line.split("=", 1) for line in unit.splitlines() if line.startswith(("ExecStart", "KillSignal")))
    check = build_parser().parse_args(shlex.split(lines["ExecStartPre"])[1:])
    run = build_parser().parse_args(shlex.split(lines["ExecStart"])[1:])
    assert check.func is cmd_counties_check and check.file == run.counties
    assert run.func is cmd_run and run.webhook.startswith("https://")
    assert lines["KillSignal"] == "SIGTERM"  # what `duban run` stops cleanly on


def test_the_example_systemd_unit_keeps_files_to_the_bots_user() -> None:
    """Database, backups, evidence and exported workbooks hold phone numbers: the unit's umask makes what the
    process creates readable by its user only (the code sets the same umask and explicit modes as well)."""
    unit = (ROOT / "deploy" / "duban.service").read_text(encoding="utf-8")
    service = unit.split("[Service]", 1)[1].split("[Install]", 1)[0]
    settings = dict(line.split("=", 1) for line in service.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["UMask"] == "0077"
