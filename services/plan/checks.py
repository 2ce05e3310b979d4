"""Plan checks that warn and never refuse (issue #15 §4, §7): they catch the office's likely mistakes in a plan
that is valid. Each looks at the plan as it will stand (the workbook's rows over what the database holds).

- ``plan.warn.leader_links``: a leader lacks one of the four link kinds (招商项目, 重点项目, 企业, 后进村:
  每名县级领导联系一个招商项目、一个重点项目、一个规模以上企业、一个后进村).
- ``plan.warn.link_category``: an investment-project link names a target that is not of category
  investment, or a key-project link one that is not a project category.
- ``plan.warn.not_leader``: a linked person does not have the leader role.
- ``plan.warn.category_weights``: a unit's assignment weights, summed per category, are not in the
  proportions of its class's category weights in the rules file (renormalised over the categories the unit
  has targets in; checked only where the unit's weights are not all the same — equal weights say nothing
  about emphasis — and with a tolerance of 0.01). The rules' weights are what the score uses.

``class_weights`` comes from the caller (the command line reads the rules file; services.plan does not
import the scoring): unit class -> [(categories, weight), ...]."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from models.enums import LinkKind, Role
from services.plan.spec import Problem
from services.plan.state import Existing
from services.plan.workbook import ParsedPlan, Row

ClassWeights = dict[str, list[tuple[tuple[str, ...], Decimal]]]
LINK_CATEGORIES = {LinkKind.INVESTMENT_PROJECT.value: ("investment",),
                   LinkKind.KEY_PROJECT.value: ("project_acquisition", "project_delivery")}
TOLERANCE = Decimal("0.01")


def _file(plan: ParsedPlan, sheet: str, *keys: str) -> dict[str, Row]:
    return {r.values["code"]: r for r in plan.rows(sheet) if r.ok("code", *keys)}


def _roles(plan: ParsedPlan, ex: Existing) -> dict[str, tuple[set[str], Row | None]]:
    out: dict[str, tuple[set[str], Row | None]] = {}
    for code, person in ex.people.items():
        out[code] = ({m.role for m in ex.memberships.get(person.id or 0, [])}, None)
    for code, row in _file(plan, "people", "role").items():
        out[code] = (set(row.values["role"]), row)
    return out


def _links(plan: ParsedPlan, ex: Existing) -> list[tuple[str, str, str, Row | None]]:
    """(leader code, kind, target or unit code, row) of the plan as it will stand."""
    seen: dict[tuple[str, str, str], Row | None] = {key: None for key in ex.links}
    for row in plan.rows("links"):
        if not row.ok("leader_code", "kind"):
            continue
        kind = row.values["kind"]
        ref = row.values.get("target_code" if LinkKind(kind).takes_target else "unit_code")
        if ref:
            seen[(row.values["leader_code"], kind, ref)] = row
    return [(leader, kind, ref, row) for (leader, kind, ref), row in seen.items()]


def _categories(plan: ParsedPlan, ex: Existing) -> dict[str, str]:
    out = {code: t.category for code, t in ex.targets.items()}
    out.update({code: row.values["category"] for code, row in _file(plan, "targets", "category").items()})
    return out


def warnings(plan: ParsedPlan, ex: Existing, class_weights: ClassWeights | None = None) -> list[Problem]:
    out: list[Problem] = []

    def warn(sheet: str, row: Row | None, column: str | None, key: str, **params: object) -> None:
        value = row.raw.get(column) if row is not None and column else None
        out.append(Problem(sheet, row.number if row else None, column, value or None, key, params))

    roles = _roles(plan, ex)
    categories = _categories(plan, ex)
    links = _links(plan, ex)
    kinds: dict[str, set[str]] = defaultdict(set)
    for leader, kind, ref, row in links:
        kinds[leader].add(kind)
        person_roles, _ = roles.get(leader, (set(), None))
        if leader in roles and Role.LEADER.value not in person_roles:
            warn("links", row, "leader_code", "plan.warn.not_leader", person=leader)
        wanted = LINK_CATEGORIES.get(kind)
        if wanted and ref in categories and categories[ref] not in wanted:
            warn("links", row, "target_code", "plan.warn.link_category", target=ref, category=categories[ref],
                 kind=kind, wanted="/".join(wanted))
    every = [k.value for k in LinkKind]
    for code, (person_roles, row) in sorted(roles.items()):
        if Role.LEADER.value in person_roles:
            missing = [k for k in every if k not in kinds.get(code, set())]
            if missing:
                warn("people", row, "code" if row else None, "plan.warn.leader_links", person=code,
                     kinds=", ".join(missing))
    if class_weights:
        out += _weights(plan, ex, categories, class_weights)
    return out


def _weights(plan: ParsedPlan, ex: Existing, categories: dict[str, str], class_weights: ClassWeights) -> list[Problem]:
    classes = {code: u.unit_class for code, u in ex.units.items()}
    unit_rows = _file(plan, "units")
    classes.update({code: row.values.get("class") or "" for code, row in unit_rows.items()})
    weights: dict[tuple[str, str], Decimal] = {key: a.weight for key, a in ex.assignments.items()}
    for row in plan.rows("assignments"):
        if row.ok("target_code", "unit_code", "weight") and row.values.get("weight") is not None:
            weights[(row.values["target_code"], row.values["unit_code"])] = row.values["weight"]
    by_unit: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for (target, unit), weight in weights.items():
        if target in categories:
            by_unit[unit].append((categories[target], weight))
    out = []
    for unit, rows in sorted(by_unit.items()):
        rule = class_weights.get(classes.get(unit, ""))
        if not rule or len({w for _, w in rows}) <= 1:
            continue
        have = {cats: sum((w for c, w in rows if c in cats), Decimal(0)) for cats, _ in rule}
        present = [(cats, w) for cats, w in rule if have[cats] > 0]
        total, wanted = sum(have.values(), Decimal(0)), sum((w for _, w in present), Decimal(0))
        if total == 0 or wanted == 0:
            continue
        if any(abs(have[cats] / total - w / wanted) > TOLERANCE for cats, w in present):
            shares = ", ".join(f"{'+'.join(cats)} {have[cats] / total:.2f}/{w / wanted:.2f}" for cats, w in present)
            row = unit_rows.get(unit)
            out.append(Problem("units" if row else "assignments", row.number if row else None,
                               "class" if row else None, None, "plan.warn.category_weights",
                               {"unit": unit, "unit_class": classes.get(unit, ""), "shares": shares}))
    return out
