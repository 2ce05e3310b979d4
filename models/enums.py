"""Enumerations of the domain, stored as their string values."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class UnitKind(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    DEPARTMENT = "department"
    ENTERPRISE = "enterprise"


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    CADRE = "cadre"
    INSPECTOR = "inspector"
    ASSESSOR = "assessor"


class Category(StrEnum):
    INDUSTRY = "industry"
    PROJECT_ACQUISITION = "project_acquisition"
    PROJECT_DELIVERY = "project_delivery"
    INVESTMENT = "investment"
    OTHER = "other"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class AssessmentMode(StrEnum):
    ZERO_BASE = "zero_base"
    CONTINUOUS = "continuous"


class LinkKind(StrEnum):
    INVESTMENT_PROJECT = "investment_project"
    KEY_PROJECT = "key_project"
    ENTERPRISE = "enterprise"
    LAGGING_VILLAGE = "lagging_village"

    @property
    def takes_target(self) -> bool:
        return self in (LinkKind.INVESTMENT_PROJECT, LinkKind.KEY_PROJECT)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


# Chinese names accepted in the plan workbook and shown in the template.
CHINESE_NAMES: dict[type[StrEnum], dict[str, str]] = {
    UnitKind: {"county": "县", "township": "乡镇", "village": "村", "department": "部门", "enterprise": "企业"},
    Role: {"admin": "目标办", "leader": "领导", "cadre": "干部", "inspector": "督查", "assessor": "考评员"},
    Category: {
        "industry": "产业培育",
        "project_acquisition": "项目争取",
        "project_delivery": "项目落实",
        "investment": "招商引资",
        "other": "其他",
    },
    Direction: {"higher": "越高越好", "lower": "越低越好"},
    AssessmentMode: {"zero_base": "零基", "continuous": "连续"},
    LinkKind: {
        "investment_project": "招商项目",
        "key_project": "重点项目",
        "enterprise": "企业",
        "lagging_village": "后进村",
    },
}


def parse_enum(enum: type[E], text: str) -> E:
    """Read an enumeration from its English value or its Chinese name; ValueError if neither."""
    raw = text.strip()
    lowered = raw.lower()
    for member in enum:
        if lowered == member.value:
            return member
    for value, zh in CHINESE_NAMES.get(enum, {}).items():
        if raw == zh:
            return enum(value)
    raise ValueError(raw)
