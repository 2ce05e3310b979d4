"""Rows the database has and the workbook does not: listed, and with ``prune`` removed.

Only sheets with rows in the workbook take part (a file with just ``units``, or a template whose
other sheets hold only the header, says nothing about targets). Assignments with progress, and
rows the workbook still refers to, are never removed; units and people are deactivated,
everything else deleted. Deletions run children first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from models.enums import LinkKind
from services.plan.state import assignments_with_progress, snapshot
from services.plan.validate import row_key

if TYPE_CHECKING:
    from services.plan.apply import Applier


async def _delete(ap: Applier, sheet: str, key: str, obj: Any, before: dict[str, Any]) -> None:
    ap.count(sheet, "pruned")
    ap.audit(sheet, "delete", key, before=before)
    ap.deleted.add(id(obj))
    if ap.write:
        await ap.session.delete(obj)


async def _flush(ap: Applier) -> None:
    if ap.write:
        await ap.session.flush()


def _link_row(key: tuple[str, str, str]) -> dict[str, str]:
    leader, kind, ref = key
    return {"leader_code": leader, "kind": kind,
            "target_code" if LinkKind(kind).takes_target else "unit_code": ref}


async def prune(ap: Applier, refs: dict[str, set[str]]) -> None:
    ex = ap.ex
    sheets = {key for key, found in ap.plan.sheets.items() if found.rows}  # an empty sheet says nothing
    in_file = {sheet: {row_key(sheet, r) for r in ap.plan.rows(sheet)} for sheet in sheets}

    def absent(sheet: str, rows: dict[Any, Any]) -> list[tuple[Any, Any]]:
        if sheet not in sheets:
            return []
        keys = in_file[sheet]
        found = [(k, o) for k, o in rows.items() if (k if isinstance(k, tuple) else (k,)) not in keys
                 and getattr(o, "active", True)]
        if found:
            ap.missing[sheet] = sorted("/".join(k) if isinstance(k, tuple) else k for k, _ in found)
        return found

    links = absent("links", ex.links)
    assignments = absent("assignments", ex.assignments)
    targets = absent("targets", ex.targets)
    groups = absent("groups", ex.groups)
    people = absent("people", ex.people)
    units = absent("units", ex.units)
    if not ap.prune:
        return

    for key, link in links:
        await _delete(ap, "links", "/".join(key), link, _link_row(key))
    by_target: dict[str, list[tuple[tuple[str, str], Any]]] = defaultdict(list)
    for key, a in ex.assignments.items():
        by_target[key[0]].append((key, a))
    candidates = [a.id for _, a in assignments] + [a.id for c, _ in targets for _, a in by_target[c]]
    progress = await assignments_with_progress(ap.session, candidates)
    for key, a in assignments:
        if a.id in progress:
            ap.protected.append(f"assignments:{key[0]}/{key[1]}")
        else:
            await _delete(ap, "assignments", "/".join(key), a, snapshot("assignments", a, ex))

    doomed = []
    for code, target in targets:
        if code in refs["targets"] or any(a.id in progress for _, a in by_target[code]):
            ap.protected.append(f"targets:{code}")
            continue
        doomed.append(target)
        for key, a in by_target[code]:
            if id(a) not in ap.deleted:
                await _delete(ap, "assignments", "/".join(key), a, snapshot("assignments", a, ex))
        for key, link in ex.links.items():
            if key[2] == code and LinkKind(key[1]).takes_target and id(link) not in ap.deleted:
                await _delete(ap, "links", "/".join(key), link, _link_row(key))
    await _flush(ap)
    for target in doomed:
        await _delete(ap, "targets", target.code, target, snapshot("targets", target, ex))
    await _flush(ap)

    for code, group in groups:
        if code in refs["groups"]:
            ap.protected.append(f"groups:{code}")
            continue
        led = [t for t in ex.targets.values() if t.leading_group_id == group.id and id(t) not in ap.deleted]
        if ap.write:
            for target in led:
                target.leading_group_id = None
        await _delete(ap, "groups", code, group, {**snapshot("groups", group, ex), "targets": [t.code for t in led]})
    await _flush(ap)

    for sheet, gone in (("people", people), ("units", units)):
        for code, obj in gone:
            if code in refs[sheet]:
                ap.protected.append(f"{sheet}:{code}")
                continue
            ap.count(sheet, "pruned")
            ap.audit(sheet, "deactivate", code, {"active": True}, {"active": False})
            if ap.write:
                obj.active = False
    await _flush(ap)
