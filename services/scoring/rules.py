"""The assessment rules (考核规则) as data: a TOML file validated by pydantic, defaults shipped in
``config/assessment_rules.toml``. A ``[default]`` table and ``[classes."<unit class>"]`` tables
overriding any of its keys for the units of that class."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[2] / "config" / "assessment_rules.toml"
GRADES = ("excellent", "good", "pass", "fail")  # 优秀 / 良好 / 合格 / 不合格


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    completion: Decimal = Field(ge=0, le=1)
    peer: Decimal = Field(ge=0, le=1)
    inspection: Decimal = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.completion + self.peer + self.inspection
        if total != 1:
            raise ValueError(f"the weights must sum to 1 (they sum to {total})")
        return self


class Bands(BaseModel):
    """The lowest total of each grade; below ``pass`` is fail (不合格)."""

    model_config = ConfigDict(extra="forbid")
    excellent: Decimal = Field(ge=0)
    good: Decimal = Field(ge=0)
    # "pass" is a Python keyword.
    pass_: Decimal = Field(ge=0, alias="pass")

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.excellent > self.good > self.pass_:
            raise ValueError("the bands must fall: excellent > good > pass")
        return self


# ---- Issue #15 sections 4-6: category weights per class, grade caps, bottom flags (see the rules file) ----
# A key of ``category_weights`` names one target category, or "project" for both project categories.
CATEGORY_KEYS: dict[str, tuple[str, ...]] = {
    "industry": ("industry",), "project": ("project_acquisition", "project_delivery"),
    "project_acquisition": ("project_acquisition",), "project_delivery": ("project_delivery",),
    "investment": ("investment",), "other": ("other",),
}
ALL_CATEGORIES = ("industry", "project_acquisition", "project_delivery", "investment", "other")


def category_groups(weights: dict[str, Decimal]) -> dict[str, str]:
    """Category -> the key of ``category_weights`` it counts under."""
    return {cat: key for key in weights for cat in CATEGORY_KEYS[key]}


class Caps(BaseModel):
    """Grade caps (each switchable; absent: off): a unit is not 优秀 when ..."""

    model_config = ConfigDict(extra="forbid")
    failed_group_target: bool = False  # ... it failed a target that belongs to a leading group's line
    failed_line: bool = False  # ... it has a target of a line whose honours are withheld (分线履职)
    criticised: bool = False  # ... it was named in a criticism notice (通报批评) of the year, published


class ClassRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: Weights
    completion_cap: Decimal = Field(ge=1)
    bonus_limit: Decimal = Field(ge=0)
    deduction_limit: Decimal = Field(ge=0)
    bands: Bands
    top_share: Decimal = Field(ge=0, le=1)
    survey_threshold: Decimal = Field(ge=0, le=1)
    survey_min_answers: int = Field(ge=1)
    peer_sample_size: int = Field(ge=1)
    # ---- Issue #15 sections 4-6 (every key optional: a round's rules written before them mean the same) ----
    # Completion per category, then weighted (empty: one completion over every assignment, as before).
    category_weights: dict[str, Decimal] = Field(default_factory=dict)
    caps: Caps = Field(default_factory=Caps)
    # Bottom flags (排名后三位): the last ``bottom_count`` of a class of at least 2 × bottom_count units,
    # the last one of a smaller class of 2 or more, none of a class of one.
    bottom_count: int = Field(default=3, ge=0, le=50)

    @model_validator(mode="after")
    def _categories(self) -> ClassRules:
        cw = self.category_weights
        if not cw:
            return self
        unknown = sorted(set(cw) - set(CATEGORY_KEYS))
        if unknown:
            raise ValueError(f"category_weights: unknown category {', '.join(unknown)} "
                             f"(expected {', '.join(CATEGORY_KEYS)})")
        if any(not 0 <= w <= 1 for w in cw.values()):
            raise ValueError("category_weights: each weight must be between 0 and 1")
        counted = [cat for key in cw for cat in CATEGORY_KEYS[key]]
        twice = sorted({c for c in counted if counted.count(c) > 1})
        if twice:
            raise ValueError(f"category_weights: {', '.join(twice)} counted twice (\"project\" covers both "
                             "project categories)")
        missing = [c for c in ALL_CATEGORIES if c not in counted]
        if missing:
            raise ValueError(f"category_weights: no weight for {', '.join(missing)}")
        if sum(cw.values(), Decimal(0)) != 1:
            raise ValueError(f"category_weights: must sum to 1 (they sum to {sum(cw.values(), Decimal(0))})")
        return self


@dataclass(frozen=True)
class Rules:
    """Validated rules: the text they came from, its hash, and the rules per class."""

    text: str
    default: ClassRules
    classes: dict[str, ClassRules]

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def for_class(self, unit_class: str) -> ClassRules:
        return self.classes.get(unit_class, self.default)


class RulesError(Exception):
    """Every problem of a rules file, one line each ("<where>: <problem>")."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _problems(where: str, exc: ValidationError, only: set[str] | None = None) -> list[str]:
    """One line per problem; ``only``: report just the problems of these top-level keys (a class
    table does not repeat the problems it inherits from an invalid [default])."""
    out = []
    for err in exc.errors():
        if only is not None and (not err["loc"] or str(err["loc"][0]) not in only):
            continue
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}{'.' + loc if loc else ''}: {message}")
    return out


def parse_rules(text: str) -> Rules:
    """Validate rules text; RulesError lists every problem."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([f"TOML: {exc}"]) from None
    problems: list[str] = []
    unknown = sorted(set(raw) - {"default", "classes"})
    problems += [f"{key}: unknown table (expected [default] and [classes.\"…\"])" for key in unknown]
    base = raw.get("default")
    if not isinstance(base, dict):
        raise RulesError([*problems, "default: the [default] table is missing"])
    default: ClassRules | None = None
    try:
        default = ClassRules.model_validate(base)
    except ValidationError as exc:
        problems += _problems("default", exc)
    classes: dict[str, ClassRules] = {}
    overrides = raw.get("classes", {})
    if not isinstance(overrides, dict):
        problems.append("classes: must be tables, e.g. [classes.\"乡镇\"]")
        overrides = {}
    for name, table in overrides.items():
        if not isinstance(table, dict):
            problems.append(f'classes."{name}": must be a table')
            continue
        merged = {**base, **table}
        if isinstance(base.get("weights"), dict) and isinstance(table.get("weights"), dict):
            merged["weights"] = {**base["weights"], **table["weights"]}
        if isinstance(base.get("bands"), dict) and isinstance(table.get("bands"), dict):
            merged["bands"] = {**base["bands"], **table["bands"]}
        if isinstance(base.get("caps"), dict) and isinstance(table.get("caps"), dict):
            merged["caps"] = {**base["caps"], **table["caps"]}  # category_weights: a class's replace the default's
        try:
            classes[name] = ClassRules.model_validate(merged)
        except ValidationError as exc:
            problems += _problems(f'classes."{name}"', exc, only=set(table) if default is None else None)
    if problems or default is None:
        raise RulesError(problems)
    return Rules(text=text, default=default, classes=classes)


def load_rules(path: Path | None = None) -> Rules:
    """The rules in ``path`` (default: the shipped file)."""
    return parse_rules((path or DEFAULT_RULES_PATH).read_text(encoding="utf-8"))
