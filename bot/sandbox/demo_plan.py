"""The demo county's plan, shaped like a real county's (as the customer's report describes one): townships with
their villages, departments, enterprises, targets of every category and mode (one "lower is better"),
leading groups and leader links, and the people of every role. Written as the plan workbook and loaded by the
plan import (services/plan), as an office would. The year is the sandbox clock's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

COUNTY = ("XC00", "清河县", 30.6000, 104.0600)
TOWNSHIPS = [("XZ01", "城关镇", 30.6100, 104.0700, ["红星村", "东风村", "向阳村"]),
             ("XZ02", "青山镇", 30.7000, 104.1500, ["桃园村", "李家湾村", "黄泥塘村"]),
             ("XZ03", "白云乡", 30.5200, 103.9800, ["凤凰村", "新民村", "长岭村"])]
DEPARTMENTS = [("BM01", "县发展和改革局"), ("BM02", "县农业农村局"), ("BM03", "县商务局"), ("BM04", "县交通运输局")]
ENTERPRISES = [("QY01", "清河电力有限公司", 30.6400, 104.0200), ("QY02", "华兴机械制造有限公司", 30.5800, 104.1100),
               ("QY03", "绿源农产品加工有限公司", 30.6600, 104.0900)]
GROUPS = [("LG01", "农业产业化领导小组"), ("LG02", "骨干企业发展领导小组"), ("LG03", "重点项目建设领导小组"),
          ("LG04", "招商引资工作领导小组")]
# code, title, category, measure, mode, direction, group, holders (unit kind), plan per holder
TARGETS: list[tuple[str, str, str, str, str, str, str, str, int]] = [
    ("01", "生猪出栏", "industry", "头", "continuous", "higher", "LG01", "township", 12000),
    ("02", "水果种植面积", "industry", "亩", "continuous", "higher", "LG01", "village", 300),
    ("03", "农产品加工产值", "industry", "万元", "continuous", "higher", "LG02", "enterprise", 20000),
    ("04", "争取中央预算内投资", "project_acquisition", "万元", "zero_base", "higher", "LG03", "department", 8000),
    ("05", "申报省级重点项目", "project_acquisition", "个", "zero_base", "higher", "LG03", "township", 2),
    ("06", "重点项目完成投资", "project_delivery", "万元", "continuous", "higher", "LG03", "township", 30000),
    ("07", "高标准农田建设", "project_delivery", "亩", "continuous", "higher", "LG01", "village", 400),
    ("08", "招商引资到位资金", "investment", "万元", "zero_base", "higher", "LG04", "township", 50000),
    ("09", "引进企业", "investment", "个", "zero_base", "higher", "LG04", "department", 3),
    ("10", "村集体经济收入", "other", "万元", "continuous", "higher", "LG01", "village", 10),
    ("11", "安全生产事故", "other", "起", "zero_base", "lower", "LG02", "enterprise", 1),
]
# code, name, role(s), unit, scope (inspectors), language
PEOPLE: list[tuple[str, str, tuple[str, ...], str, str, str]] = [
    ("P001", "王主任", ("admin",), "XC00", "", "zh"),
    ("P002", "Director Zhou", ("admin",), "XC00", "", "en"),
    ("P003", "刘县长", ("leader",), "XC00", "", "zh"),
    ("P004", "陈副县长", ("leader",), "XC00", "", "zh"),
    ("P005", "赵副县长", ("leader", "inspector"), "XC00", "", "zh"),
    ("P006", "钱督查", ("inspector",), "XC00", "", "zh"),
    ("P007", "Inspector Sun", ("inspector",), "XC00", "村", "en"),
    ("P008", "李镇长", ("cadre",), "XZ01", "", "zh"),
    ("P009", "杨镇长", ("cadre",), "XZ02", "", "zh"),
    ("P010", "黄乡长", ("cadre",), "XZ03", "", "zh"),
    ("P011", "张书记", ("cadre",), "XZ01V01", "", "zh"),
    ("P012", "吴主任", ("cadre",), "XZ01V02", "", "zh"),
    ("P013", "Secretary Xu", ("cadre",), "XZ02V01", "", "en"),
    ("P014", "马书记", ("cadre",), "XZ03V01", "", "zh"),
    ("P015", "胡局长", ("cadre",), "BM01", "", "zh"),
    ("P016", "郭局长", ("cadre",), "BM03", "", "zh"),
    ("P017", "林经理", ("cadre",), "QY01", "", "zh"),
    ("P018", "罗经理", ("cadre",), "QY03", "", "zh"),
    ("P019", "郑考评员", ("assessor",), "XZ02V02", "", "zh"),
    ("P020", "梁考评员", ("assessor",), "BM02", "", "zh"),
]
FIRST_USER_ID = 7_000_001  # the Telegram ids of the people, in the order of PEOPLE


def units() -> list[dict[str, Any]]:
    code, name, lat, lon = COUNTY
    rows: list[dict[str, Any]] = [{"code": code, "name": name, "kind": "county", "class": "县", "latitude": lat,
                                   "longitude": lon, "radius_m": 5000}]
    for t_code, t_name, lat, lon, villages in TOWNSHIPS:
        rows.append({"code": t_code, "name": t_name, "kind": "township", "class": "乡镇", "parent_code": code,
                     "latitude": lat, "longitude": lon, "radius_m": 1500})
        for i, v_name in enumerate(villages):
            rows.append({"code": f"{t_code}V{i + 1:02d}", "name": v_name, "kind": "village", "class": "村",
                         "parent_code": t_code, "latitude": round(lat + 0.012 * (i + 1), 4),
                         "longitude": round(lon - 0.01 * (i + 1), 4), "radius_m": 500})
    for i, (d_code, d_name) in enumerate(DEPARTMENTS):
        rows.append({"code": d_code, "name": d_name, "kind": "department", "class": "部门", "parent_code": code,
                     "latitude": round(30.6010 + 0.001 * i, 4), "longitude": round(104.0610 + 0.001 * i, 4),
                     "radius_m": 200})
    for e_code, e_name, lat, lon in ENTERPRISES:
        rows.append({"code": e_code, "name": e_name, "kind": "enterprise", "class": "企业", "parent_code": code,
                     "latitude": lat, "longitude": lon, "radius_m": 800})
    return rows


def build(year: int) -> dict[str, list[dict[str, Any]]]:
    """The plan's rows per sheet, for ``services.plan.workbook.build_workbook``."""
    unit_rows = units()
    by_kind: dict[str, list[str]] = {}
    for u in unit_rows:
        by_kind.setdefault(u["kind"], []).append(u["code"])
    targets, assignments = [], []
    for number, title, category, measure, mode, direction, group, holders, plan in TARGETS:
        code = f"MB{year}-{number}"
        deadline = date(year, 6, 30) if number in ("05", "09") else date(year, 12, 31)
        targets.append({"code": code, "year": year, "title": title, "category": category, "measure": measure,
                        "direction": direction, "mode": mode, "deadline": deadline, "leading_group_code": group,
                        "report_interval_days": 7, "description": ""})
        for i, unit_code in enumerate(by_kind[holders]):
            row: dict[str, Any] = {"target_code": code, "unit_code": unit_code,
                                   "planned_value": Decimal(plan + plan * i // 10),
                                   "baseline_value": Decimal(plan // 10 if mode == "continuous" else 0),
                                   "weight": Decimal(10 if category in ("investment", "project_delivery") else 6)}
            if number == "06":
                row["milestones"] = [[f"{year}-03-31", "20"], [f"{year}-06-30", "50"], [f"{year}-09-30", "80"]]
            if number == "07":  # the fields lie beside the village
                u = next(r for r in unit_rows if r["code"] == unit_code)
                row.update(site_latitude=round(u["latitude"] + 0.003, 5), site_longitude=round(u["longitude"], 5),
                           site_radius_m=300)
            assignments.append(row)
    people = [{"code": code, "name": name, "unit_code": unit, "role": roles, "phone": f"1380000{i + 1:04d}",
               "scope": tuple(scope.split(";")) if scope else ()}
              for i, (code, name, roles, unit, scope, _) in enumerate(PEOPLE)]
    groups = [{"code": code, "name": name, "head_code": head}
              for (code, name), head in zip(GROUPS, ("P003", "P004", "P005", "P003"), strict=True)]
    links = []
    for leader, village, enterprise in (("P003", "XZ01V01", "QY01"), ("P004", "XZ02V01", "QY02"),
                                        ("P005", "XZ03V01", "QY03")):
        links += [{"leader_code": leader, "kind": "investment_project", "target_code": f"MB{year}-08"},
                  {"leader_code": leader, "kind": "key_project", "target_code": f"MB{year}-06"},
                  {"leader_code": leader, "kind": "enterprise", "unit_code": enterprise},
                  {"leader_code": leader, "kind": "lagging_village", "unit_code": village}]
    return {"units": unit_rows, "targets": targets, "assignments": assignments, "people": people,
            "groups": groups, "links": links}
