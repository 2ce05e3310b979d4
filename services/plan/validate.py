"""Checks that need the whole workbook and the database: duplicates, references, cycles, milestones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from models.enums import CHINESE_NAMES, LinkKind, Role, UnitKind
from services.plan import chain
from services.plan.spec import Problem
from services.plan.state import Existing
from services.plan.workbook import ParsedPlan, Row

LINK_UNIT_KIND = {LinkKind.ENTERPRISE.value: UnitKind.ENTERPRISE.value,
                  LinkKind.LAGGING_VILLAGE.value: UnitKind.VILLAGE.value}


def link_ref_column(kind: str) -> str:
    return "target_code" if LinkKind(kind).takes_target else "unit_code"


def row_key(sheet: str, row: Row) -> tuple[str, ...] | None:
    """The identity of a row (its code, or the pair / triple of codes), None when it cannot be read."""
    if sheet == "assignments":
        return (row.values["target_code"], row.values["unit_code"]) if row.ok("target_code", "unit_code") else None
    if sheet == "links":
        if not row.ok("leader_code", "kind"):
            return None
        column = link_ref_column(row.values["kind"])
        ref = row.values.get(column)
        return (row.values["leader_code"], row.values["kind"], ref) if ref and row.ok(column) else None
    return (row.values["code"],) if row.ok("code") else None


class Validator:
    def __init__(self, plan: ParsedPlan, ex: Existing) -> None:
        self.plan = plan
        self.ex = ex
        self.problems: list[Problem] = []
        self.file_units = {r.values["code"]: r for r in plan.rows("units") if r.ok("code")}
        self.file_targets = {r.values["code"]: r for r in plan.rows("targets") if r.ok("code")}
        self.unit_codes = set(self.file_units) | set(ex.units)
        self.target_codes = set(self.file_targets) | set(ex.targets)
        self.person_codes = {r.values["code"] for r in plan.rows("people") if r.ok("code")} | set(ex.people)
        self.group_codes = {r.values["code"] for r in plan.rows("groups") if r.ok("code")} | set(ex.groups)

    def add(self, sheet: str, row: Row, column: str, key: str, **params: object) -> None:
        self.problems.append(Problem(sheet, row.number, column, row.raw.get(column) or None, key, params))

    def run(self) -> list[Problem]:
        for sheet in self.plan.sheets:
            self.duplicates(sheet)
        self.references("units", "parent_code", self.unit_codes, "plan.ref.unknown_unit")
        self.cycles()
        self.references("targets", "leading_group_code", self.group_codes, "plan.ref.unknown_group")
        self.references("assignments", "target_code", self.target_codes, "plan.ref.unknown_target")
        self.references("assignments", "unit_code", self.unit_codes, "plan.ref.unknown_unit")
        self.milestones()
        self.references("people", "unit_code", self.unit_codes, "plan.ref.unknown_unit")
        self.scopes()
        self.references("groups", "head_code", self.person_codes, "plan.ref.unknown_person")
        self.references("links", "leader_code", self.person_codes, "plan.ref.unknown_person")
        self.links()
        return self.problems + chain.check(self.plan, self.ex)

    def duplicates(self, sheet: str) -> None:
        seen: dict[tuple[str, ...], list[Row]] = defaultdict(list)
        for row in self.plan.rows(sheet):
            key = row_key(sheet, row)
            if key is not None:
                seen[key].append(row)
        message = {"assignments": "plan.dup.assignment", "links": "plan.dup.link"}.get(sheet, "plan.dup.code")
        column = {"assignments": "unit_code", "links": "leader_code"}.get(sheet, "code")
        for rows in seen.values():
            if len(rows) > 1:
                numbers = ", ".join(str(r.number) for r in rows)
                for row in rows:
                    self.add(sheet, row, column, message, rows=numbers)

    def references(self, sheet: str, column: str, known: set[str], message: str) -> None:
        for row in self.plan.rows(sheet):
            value = row.values.get(column)
            if value and row.ok(column) and value not in known:
                self.add(sheet, row, column, message)

    def cycles(self) -> None:
        parents: dict[str, str | None] = {
            code: self.ex.unit_code(unit.parent_id) for code, unit in self.ex.units.items()
        }
        for code, row in self.file_units.items():
            if row.ok("parent_code"):
                parents[code] = row.values["parent_code"]
        for code, row in self.file_units.items():
            path = [code]
            current = parents.get(code)
            while current is not None and current not in path:
                path.append(current)
                current = parents.get(current)
            if current == code:
                self.add("units", row, "parent_code", "plan.ref.parent_cycle", cycle=" → ".join([*path, code]))

    def _target_year(self, code: str) -> int | None:
        row = self.file_targets.get(code)
        if row is not None:
            return row.values["year"] if row.ok("year") else None
        target = self.ex.targets.get(code)
        return target.year if target is not None else None

    def milestones(self) -> None:
        for row in self.plan.rows("assignments"):
            points = row.values.get("milestones")
            if not points or not row.ok("milestones", "target_code"):
                continue
            year = self._target_year(row.values["target_code"])
            if year is None:
                continue
            for day, _percent in points:
                if date.fromisoformat(day).year != year:
                    self.add("assignments", row, "milestones", "plan.milestone.outside_year", date=day, year=year)
                    break

    def scopes(self) -> None:
        classes = {r.values.get("class") for r in self.file_units.values() if r.ok("class")}
        classes |= {u.unit_class for u in self.ex.units.values()}
        classes.discard("")
        classes.discard(None)
        for row in self.plan.rows("people"):
            if not row.ok("scope") or not row.values["scope"]:
                continue
            unknown = [item for item in row.values["scope"] if item not in self.unit_codes and item not in classes]
            if unknown:
                self.add("people", row, "scope", "plan.ref.unknown_scope", items="; ".join(unknown))
            elif row.ok("role") and Role.INSPECTOR.value not in row.values["role"]:
                self.add("people", row, "scope", "plan.scope.not_inspector")

    def _unit_kind(self, code: str) -> str | None:
        row = self.file_units.get(code)
        if row is not None:
            return row.values["kind"] if row.ok("kind") else None
        unit = self.ex.units.get(code)
        return unit.kind if unit is not None else None

    def links(self) -> None:
        for row in self.plan.rows("links"):
            if not row.ok("kind"):
                continue
            kind = row.values["kind"]
            wanted = link_ref_column(kind)
            other = "unit_code" if wanted == "target_code" else "target_code"
            kind_name = row.raw.get("kind", kind)
            if row.values.get(other):
                self.add("links", row, other, "plan.link.not_used", kind=kind_name)
            if wanted in row.bad:
                continue
            if not row.values.get(wanted):
                self.add("links", row, wanted, "plan.link.needs_reference", kind=kind_name)
                continue
            value = row.values[wanted]
            known = self.target_codes if wanted == "target_code" else self.unit_codes
            if value not in known:
                self.add("links", row, wanted,
                         "plan.ref.unknown_target" if wanted == "target_code" else "plan.ref.unknown_unit")
            elif kind in LINK_UNIT_KIND and self._unit_kind(value) not in (None, LINK_UNIT_KIND[kind]):
                unit_kind = LINK_UNIT_KIND[kind]
                self.add("links", row, wanted, "plan.link.unit_kind",
                         kind=f"{unit_kind} {CHINESE_NAMES[UnitKind][unit_kind]}")


def validate(plan: ParsedPlan, ex: Existing) -> list[Problem]:
    """Every problem the workbook has beyond single cells, in sheet order."""
    return Validator(plan, ex).run()


def referenced(plan: ParsedPlan) -> dict[str, set[str]]:
    """Codes the workbook's rows refer to, per sheet they live in (such rows are never pruned)."""
    refs: dict[str, set[str]] = defaultdict(set)

    def collect(sheet: str, column: str, into: str, rows: Iterable[Row] | None = None) -> None:
        for row in rows if rows is not None else plan.rows(sheet):
            value = row.values.get(column)
            if value:
                refs[into].add(value)

    collect("units", "parent_code", "units")
    collect("assignments", "unit_code", "units")
    collect("assignments", "target_code", "targets")
    collect("people", "unit_code", "units")
    collect("targets", "leading_group_code", "groups")
    collect("targets", "continues", "targets")
    collect("groups", "head_code", "people")
    collect("links", "leader_code", "people")
    collect("links", "target_code", "targets")
    collect("links", "unit_code", "units")
    for row in plan.rows("people"):
        refs["units"].update(row.values.get("scope") or ())
    return refs
