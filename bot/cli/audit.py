"""``duban audit verify``: walk the audit log's hash chain (services/core/audit_chain.py); exit 1 naming the
first row that does not match, or a head hash received earlier (``--known``) that is not in the chain."""

from __future__ import annotations

import argparse
import re

from bot.cli.errors import Refused, UsageError
from config.i18n import t
from config.settings import Settings
from models.db import Database
from services.core import audit_chain
from services.core.clock import Clock

HASH_RE = re.compile(r"[0-9a-f]{64}")


def render(verdict: audit_chain.Verdict, settings: Settings) -> list[str]:
    lang = settings.locale
    if verdict.broken is not None:
        b = verdict.broken
        previous = (t("audit.verify.previous", lang, id=b.previous_id) if b.previous_id is not None
                    else t("audit.verify.chain_start", lang))
        at = b.at.astimezone(settings.tz).isoformat(timespec="seconds")
        key = "audit.verify.broken_link" if b.kind == "link" else "audit.verify.broken_content"
        return [t(key, lang, id=b.id, at=at, action=b.action, previous=previous, count=verdict.count)]
    lines = [t("audit.verify.ok", lang, count=verdict.count, head=verdict.head)]
    for known, row_id in verdict.known.items():
        lines.append(t("audit.verify.known_found", lang, hash=known, id=row_id) if row_id is not None
                     else t("audit.verify.known_missing", lang, hash=known))
    return lines


async def cmd_audit_verify(args: argparse.Namespace, settings: Settings, db: Database, clock: Clock) -> None:
    """Exit 0 with the row count and the head hash when every row matches (and every ``--known`` hash is in
    the chain); exit 1 naming the first row that does not match."""
    known = [k.strip().lower() for k in args.known or []]
    for k in known:
        if not HASH_RE.fullmatch(k):
            raise UsageError(t("audit.verify.bad_known", settings.locale, value=k))
    verdict = await audit_chain.verify(uow=db.read_uow(), known=known)
    lines = render(verdict, settings)
    if not verdict.ok:
        raise Refused("\n".join(lines))
    print("\n".join(lines))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="sub", required=True)
    p = audit.add_parser("verify", help="check the audit log's hash chain; exit 1 naming the first row that "
                                        "does not match")
    p.add_argument("--known", action="append", metavar="HASH",
                   help="a head hash received earlier (the admins' daily message): it must be in the chain; "
                        "may be given more than once")
    p.set_defaults(func=cmd_audit_verify)
