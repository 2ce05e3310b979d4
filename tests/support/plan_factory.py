"""A realistic county plan for the workbook tests, and a writer that fills it in the way people do.

``build_county_plan`` returns canonical values per sheet (column key -> value: English enum values,
Decimals, dates, ``"2027-03-31:20; ..."`` milestones, ``"leader;inspector"`` roles). The writer
varies the presentation row by row (Chinese names or English values, numbers or text with
thousands separators, date cells or ``2027/12/31`` text, headers by label, key or both, sheets in
any order, a comment row and a blank row) so that the importer has to read all of them.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from models.enums import CHINESE_NAMES, AssessmentMode, Category, Direction, LinkKind, Role, UnitKind

Plan = dict[str, list[dict[str, Any]]]
YEAR = 2027

TOWNSHIPS = ["城关镇", "青山镇", "河口镇", "石桥镇", "龙泉镇", "白云乡", "双河乡", "新华镇", "永安乡", "太平镇",
             "金山镇", "柳林乡"]
VILLAGES = ["红星", "东风", "向阳", "桃园", "李家湾", "黄泥塘", "凤凰", "新民", "长岭", "杨柳"]
DEPARTMENTS = ["发展和改革局", "经济和信息化局", "财政局", "农业农村局", "商务局", "住房和城乡建设局", "交通运输局",
               "水利局", "自然资源和规划局", "生态环境局", "应急管理局", "市场监督管理局", "文化广电旅游局",
               "卫生健康局", "教育局"]
ENTERPRISES = ["清河电力有限公司", "华兴机械制造有限公司", "绿源农产品加工有限公司", "金穗饲料有限公司",
               "宏达冶金有限公司", "蜀丝丝绸有限公司"]
GROUPS = ["农业产业化领导小组", "骨干企业发展领导小组", "重点项目建设领导小组", "招商引资工作领导小组",
          "项目争取工作领导小组", "乡村振兴领导小组", "安全生产委员会", "生态环境保护领导小组", "城乡建设领导小组"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = ["建国", "志强", "海燕", "明", "丽", "伟", "秀英", "军", "静", "磊", "红梅", "俊杰", "晓东", "春华", "国庆"]

# (title, category, measure, mode, direction, group index, who: township/village/department/enterprise, scale)
TARGETS: list[tuple[str, str, str, str, str, int, str, int]] = [
    ("生猪出栏", "industry", "头", "continuous", "higher", 0, "township", 12000),
    ("生猪出栏（规模养殖场）", "industry", "头", "continuous", "higher", 0, "enterprise", 30000),
    ("水果种植面积", "industry", "亩", "continuous", "higher", 0, "village", 300),
    ("新建标准化果园", "industry", "亩", "continuous", "higher", 0, "township", 800),
    ("蚕桑基地建设", "industry", "亩", "continuous", "higher", 0, "village", 120),
    ("发放蚕种", "industry", "张", "continuous", "higher", 0, "village", 150),
    ("农产品加工产值", "industry", "万元", "continuous", "higher", 1, "enterprise", 20000),
    ("规模以上工业增加值", "industry", "万元", "continuous", "higher", 1, "department", 150000),
    ("电力能源产业产值", "industry", "万元", "continuous", "higher", 1, "enterprise", 50000),
    ("机械冶金产业产值", "industry", "万元", "continuous", "higher", 1, "enterprise", 40000),
    ("新增规上企业", "industry", "个", "continuous", "higher", 1, "township", 2),
    ("农民专业合作社", "industry", "个", "continuous", "higher", 5, "village", 2),
    ("土地流转面积", "industry", "亩", "continuous", "higher", 5, "village", 200),
    ("争取中央预算内投资", "project_acquisition", "万元", "zero_base", "higher", 4, "department", 8000),
    ("争取地方政府专项债券", "project_acquisition", "万元", "zero_base", "higher", 4, "department", 20000),
    ("申报省级重点项目", "project_acquisition", "个", "zero_base", "higher", 4, "township", 2),
    ("争取上级涉农资金", "project_acquisition", "万元", "zero_base", "higher", 4, "township", 1500),
    ("项目储备入库", "project_acquisition", "个", "zero_base", "higher", 4, "department", 10),
    ("重点项目完成投资", "project_delivery", "万元", "continuous", "higher", 2, "township", 30000),
    ("高标准农田建设", "project_delivery", "亩", "continuous", "higher", 2, "village", 400),
    ("农村公路建设", "project_delivery", "公里", "continuous", "higher", 8, "township", 20),
    ("农村饮水安全巩固", "project_delivery", "个", "continuous", "higher", 8, "village", 1),
    ("产业园区基础设施投资", "project_delivery", "万元", "continuous", "higher", 2, "department", 12000),
    ("重点项目开工", "project_delivery", "个", "continuous", "higher", 2, "township", 3),
    ("人居环境整治", "project_delivery", "个", "continuous", "higher", 7, "village", 3),
    ("招商引资到位资金", "investment", "万元", "zero_base", "higher", 3, "township", 50000),
    ("引进企业", "investment", "个", "zero_base", "higher", 3, "township", 3),
    ("引进亿元以上项目", "investment", "个", "zero_base", "higher", 3, "department", 1),
    ("外出招商活动", "investment", "次", "zero_base", "higher", 3, "department", 6),
    ("村集体经济收入", "other", "万元", "continuous", "higher", 5, "village", 10),
    ("安全生产事故", "other", "起", "zero_base", "lower", 6, "township", 1),
    ("安全生产事故（企业）", "other", "起", "zero_base", "lower", 6, "enterprise", 1),
    ("森林火灾", "other", "起", "zero_base", "lower", 7, "village", 1),
    ("信访积案化解", "other", "件", "zero_base", "higher", 5, "township", 8),
    ("环保督察问题整改", "other", "个", "continuous", "higher", 7, "department", 5),
    ("群众满意度测评问题整改", "other", "个", "zero_base", "higher", 5, "village", 2),
]
ROUNDS = ["", "（上半年攻坚）"]  # some targets come twice a year


def _decimal(rng: random.Random, scale: int) -> Decimal:
    value = Decimal(rng.randint(max(1, scale // 2), max(2, scale * 3 // 2)))
    if scale >= 100 and rng.random() < 0.3:
        value += Decimal(rng.choice(["0.5", "0.25", "0.75", "0.1234"]))
    return value


def build_county_plan(seed: int = 1, *, townships: int = 10, villages: int = 5) -> Plan:
    """A county: 1 county, ``townships`` townships with ``villages`` villages each, 15 departments,
    6 enterprises; targets of every category, mode and direction; assignments, people, groups, links."""
    rng = random.Random(seed)
    units: list[dict[str, Any]] = []

    def unit(code: str, name: str, kind: UnitKind, klass: str, parent: str | None, radius: int) -> None:
        units.append({"code": code, "name": name, "kind": kind.value, "class": klass, "parent_code": parent,
                      "latitude": round(30.1 + rng.random() * 0.8, 4), "longitude": round(104.0 + rng.random(), 4),
                      "radius_m": radius})

    unit("XC00", "清河县", UnitKind.COUNTY, "县", None, 5000)
    by_kind: dict[str, list[str]] = {"township": [], "village": [], "department": [], "enterprise": []}
    for t in range(townships):
        code = f"XZ{t + 1:02d}"
        unit(code, TOWNSHIPS[t % len(TOWNSHIPS)], UnitKind.TOWNSHIP, "乡镇", "XC00", 1500)
        by_kind["township"].append(code)
        for v in range(villages):
            vcode = f"{code}V{v + 1:02d}"
            unit(vcode, f"{TOWNSHIPS[t % len(TOWNSHIPS)]}{VILLAGES[(t + v) % len(VILLAGES)]}村",
                 UnitKind.VILLAGE, "村", code, 500)
            by_kind["village"].append(vcode)
    for d, name in enumerate(DEPARTMENTS):
        unit(f"BM{d + 1:02d}", f"县{name}", UnitKind.DEPARTMENT, "部门", "XC00", 200)
        by_kind["department"].append(f"BM{d + 1:02d}")
    for e, name in enumerate(ENTERPRISES):
        unit(f"QY{e + 1:02d}", name, UnitKind.ENTERPRISE, "企业", "XC00", 800)
        by_kind["enterprise"].append(f"QY{e + 1:02d}")

    targets: list[dict[str, Any]] = []
    assignments: list[dict[str, Any]] = []
    number = 0
    for round_index, suffix in enumerate(ROUNDS):
        for title, category, measure, mode, direction, group, who, scale in TARGETS:
            if round_index and category not in ("industry", "investment", "project_delivery"):
                continue
            number += 1
            code = f"MB{YEAR}-{number:03d}"
            deadline = date(YEAR, 6, 30) if round_index else date(YEAR, 12, rng.choice([15, 20, 31]))
            targets.append({
                "code": code, "year": YEAR, "title": f"{title}{suffix}", "category": category,
                "measure": measure, "direction": direction, "mode": mode, "deadline": deadline,
                "leading_group_code": f"LG{group + 1:02d}", "report_interval_days": rng.choice([7, 7, 14, 30]),
                "description": f"{title}，以县统计局年报数据为准。" if number % 3 == 0 else "",
            })
            holders = by_kind[who] if who != "department" else rng.sample(by_kind["department"], 4)
            for unit_code in holders:
                a: dict[str, Any] = {
                    "target_code": code, "unit_code": unit_code, "planned_value": _decimal(rng, scale),
                    "baseline_value": Decimal(rng.choice([0, 0, 0, scale // 10 or 1])) if mode == "continuous"
                    else Decimal(0),
                    "weight": Decimal(rng.choice(["5", "8", "10", "12.5", "15"])),
                    "deadline": None, "milestones": None,
                    "site_latitude": None, "site_longitude": None, "site_radius_m": None,
                }
                if rng.random() < 0.3:
                    a["milestones"] = (f"{YEAR}-03-31:20; {YEAR}-06-30:45" if round_index
                                       else f"{YEAR}-03-31:20; {YEAR}-06-30:45; {YEAR}-09-30:75")
                if rng.random() < 0.2:
                    a["deadline"] = deadline.replace(day=1)
                if category == "project_delivery" and rng.random() < 0.5:
                    a["site_latitude"] = round(30.1 + rng.random() * 0.8, 5)
                    a["site_longitude"] = round(104.0 + rng.random(), 5)
                    a["site_radius_m"] = rng.choice([100, 200, 300])
                assignments.append(a)

    people: list[dict[str, Any]] = []

    def person(role: str, unit_code: str, scope: str = "") -> str:
        code = f"P{len(people) + 1:03d}"
        name = SURNAMES[len(people) % len(SURNAMES)] + GIVEN[(len(people) * 7) % len(GIVEN)]
        people.append({"code": code, "name": name, "unit_code": unit_code, "role": role,
                       "phone": f"138{rng.randint(10_000_000, 99_999_999)}", "scope": scope})
        return code

    leaders = [person("leader;inspector" if i == 8 else "leader", "XC00") for i in range(9)]
    for _ in range(3):
        person("admin", "XC00")
    cadre_units = by_kind["township"][:4] + by_kind["village"][:2] + by_kind["department"][:2] + ["QY01"]
    for unit_code in cadre_units:
        person("cadre", unit_code)
    scopes = [f"{by_kind['township'][0]};{by_kind['township'][1]}", "村", "", "乡镇;部门", "企业",
              by_kind["village"][0]]
    for scope in scopes:
        person("inspector", "XC00", scope)
    for unit_code in (by_kind["township"][-1], by_kind["department"][3], by_kind["village"][-1]):
        person("assessor", unit_code)
    people[8]["scope"] = "乡镇"
    groups = [{"code": f"LG{i + 1:02d}", "name": name, "head_code": leaders[i]} for i, name in enumerate(GROUPS)]

    links: list[dict[str, Any]] = []
    by_category: dict[str, list[str]] = {}
    for target in targets:
        by_category.setdefault(target["category"], []).append(target["code"])
    for i, leader in enumerate(leaders):
        links.append({"leader_code": leader, "kind": "investment_project",
                      "target_code": by_category["investment"][i % len(by_category["investment"])]})
        links.append({"leader_code": leader, "kind": "key_project",
                      "target_code": by_category["project_delivery"][i % len(by_category["project_delivery"])]})
        links.append({"leader_code": leader, "kind": "enterprise",
                      "unit_code": by_kind["enterprise"][i % len(by_kind["enterprise"])]})
        links.append({"leader_code": leader, "kind": "lagging_village",
                      "unit_code": by_kind["village"][(i * 5 + 3) % len(by_kind["village"])]})
    return {"units": units, "targets": targets, "assignments": assignments, "people": people,
            "groups": groups, "links": links}


# ------------------------------------------------------------------------------------------ writing

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "units": [("code", "编码"), ("name", "名称"), ("kind", "类型"), ("class", "考核类别"),
              ("parent_code", "上级编码"), ("latitude", "纬度"), ("longitude", "经度"), ("radius_m", "半径米")],
    "targets": [("code", "编码"), ("year", "年度"), ("title", "名称"), ("category", "类别"),
                ("measure", "计量单位"), ("direction", "方向"), ("mode", "考核方式"), ("deadline", "截止日期"),
                ("leading_group_code", "领导小组编码"), ("report_interval_days", "报送周期天数"),
                ("description", "说明"), ("pillar", "支柱产业")],
    "assignments": [("target_code", "目标编码"), ("unit_code", "单位编码"), ("planned_value", "计划值"),
                    ("baseline_value", "基数"), ("weight", "权重"), ("deadline", "截止日期"),
                    ("milestones", "节点"), ("site_latitude", "点位纬度"), ("site_longitude", "点位经度"),
                    ("site_radius_m", "点位半径米")],
    "people": [("code", "编码"), ("name", "姓名"), ("unit_code", "单位编码"), ("role", "角色"),
               ("phone", "电话"), ("scope", "督查范围")],
    "groups": [("code", "编码"), ("name", "名称"), ("head_code", "组长编码")],
    "links": [("leader_code", "领导编码"), ("kind", "类型"), ("target_code", "目标编码"), ("unit_code", "单位编码")],
}
ENUMS = {("units", "kind"): UnitKind, ("targets", "category"): Category, ("targets", "direction"): Direction,
         ("targets", "mode"): AssessmentMode, ("links", "kind"): LinkKind}
# Sheet titles and header styles as different offices write them; sheets deliberately out of order.
LAYOUT = [("links", "联系点", "key"), ("people", "人员 people", "both_reversed"),
          ("assignments", "assignments", "key"), ("targets", "目标", "label"), ("groups", "领导小组", "label"),
          ("units", "单位 units", "both")]


def _header(key: str, label: str, style: str) -> str:
    return {"key": key, "label": label, "both": f"{label} {key}", "both_reversed": f"{key} {label}"}[style]


def present(sheet: str, key: str, value: Any, index: int) -> Any:
    """How a person might have typed ``value`` in row ``index``."""
    if value is None or value == "":
        return None
    enum = ENUMS.get((sheet, key))
    if enum is not None:
        return CHINESE_NAMES[enum][value] if index % 2 == 0 else value
    if key == "role":
        names = CHINESE_NAMES[Role]
        return ";".join(names.get(r, r) if index % 2 == 0 else r for r in value.split(";"))
    if isinstance(value, Decimal):
        if index % 5 == 0:
            return f"{value:,}"  # text with thousands separators
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.strftime("%Y/%m/%d") if index % 7 == 0 else value
    return value


def write_plan_xlsx(path: Path, plan: Plan, *, sheets: list[str] | None = None) -> Path:
    """Write ``plan`` (or only ``sheets`` of it) as an .xlsx the way a county office fills it in."""
    book = Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表由目标办编制"])
    for sheet, title, style in LAYOUT:
        if sheets is not None and sheet not in sheets:
            continue
        ws = book.create_sheet(title)
        columns = COLUMNS[sheet]
        ws.append([_header(k, label, style) for k, label in columns])
        ws.append(["# 本行为注释", "导入时忽略"])
        for index, row in enumerate(plan[sheet]):
            ws.append([present(sheet, k, row.get(k), index) for k, _ in columns])
            if index == 3:
                ws.append([])
    book.save(path)
    return path
