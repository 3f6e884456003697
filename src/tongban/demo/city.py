"""Loads the demo city 巴中市 (idempotent): zones, municipal departments, cohorts, users.

Later capabilities add their own demo data here (schemes, reviews, tasks …).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.org import service as org_service
from tongban.org.enums import DeptClass, OrgLevel
from tongban.org.models import Cohort, Org

CITY_CODE = "511900"
DEMO_PASSWORD = "Tongban@2026"

ZONES = [("巴中经济开发区", "巴中经开区"), ("文旅新区", "文旅新区")]

#: Municipal departments with many platform items (A) and few (B); 5 counties + 2 zones + 38
#: departments = the 45 evaluated orgs of 巴中's scheme.
DEPARTMENTS_A = [
    "市发展和改革委员会", "市经济和信息化局", "市教育局", "市公安局", "市民政局", "市司法局",
    "市财政局", "市人力资源和社会保障局", "市自然资源和规划局", "市生态环境局",
    "市住房和城乡建设局", "市交通运输局", "市水利局", "市农业农村局", "市商务局",
    "市文化广播电视和旅游局", "市卫生健康委员会", "市应急管理局", "市市场监督管理局",
    "市医疗保障局", "市林业局", "市退役军人事务局", "市城市管理行政执法局",
    "市住房公积金管理中心",
]
DEPARTMENTS_B = [
    "市科学技术局", "市民族宗教事务局", "市审计局", "市统计局", "市体育局", "市档案馆",
    "市地方志办公室", "市机关事务服务中心", "市国防动员办公室", "市气象局", "市供销合作社",
    "市残疾人联合会", "市邮政管理局", "市烟草专卖局",
]

COHORTS = [
    ("bz-counties", "巴中市县区类", "5个县(区)和2个功能区"),
    ("bz-dept-a", "巴中市市级A类部门", "政务服务事项较多的市级部门"),
    ("bz-dept-b", "巴中市市级B类部门", "政务服务事项较少的市级部门"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    org: str | None


DEMO_USERS = [
    DemoUser("admin", "系统管理员", Role.admin, None),
    DemoUser("analyst", "王敏（考核管理员）", Role.analyst, CITY_CODE),
    DemoUser("leader", "李建国（分管领导）", Role.leader, CITY_CODE),
    DemoUser("liaison", "张丽（巴州区联络员）", Role.liaison, "511902"),
    DemoUser("liaison-jt", "陈刚（市交通运输局联络员）", Role.liaison, "市交通运输局"),
    # answers the 对标 suggestions of its department (the demo's largest share)
    DemoUser("liaison-zr", "周涛（市自然资源和规划局联络员）", Role.liaison, "市自然资源和规划局"),
    DemoUser("runner", "赵强（跑手）", Role.runner, "511902"),
]


@dataclass
class DemoSummary:
    created_orgs: int = 0
    created_cohorts: int = 0
    created_users: int = 0
    logins: list[DemoUser] = field(default_factory=list)


def load_demo(db: Session) -> DemoSummary:
    """Add what is missing of the demo city; running it again changes nothing."""
    summary = DemoSummary(logins=DEMO_USERS)
    city = org_service.resolve_org(db, ref=CITY_CODE)
    for name, short in ZONES:
        if _child(db, city, name) is None:
            org_service.create_org(
                db, actor=SYSTEM_ACTOR, name=name, short_name=short, level=OrgLevel.county,
                parent=city,
            )
            summary.created_orgs += 1
    for names, dept_class in ((DEPARTMENTS_A, DeptClass.A), (DEPARTMENTS_B, DeptClass.B)):
        for name in names:
            if _child(db, city, name) is None:
                org_service.create_org(
                    db, actor=SYSTEM_ACTOR, name=name, short_name=name.removeprefix("市"),
                    level=OrgLevel.department, parent=city, dept_class=dept_class,
                )
                summary.created_orgs += 1
    members = {
        "bz-counties": _city_children(db, city, OrgLevel.county),
        "bz-dept-a": _departments(db, city, DeptClass.A),
        "bz-dept-b": _departments(db, city, DeptClass.B),
    }
    for code, name, description in COHORTS:
        if db.scalar(select(Cohort.id).where(Cohort.code == code)) is None:
            org_service.create_cohort(
                db, actor=SYSTEM_ACTOR, code=code, name=name, description=description,
                members=members[code],
            )
            summary.created_cohorts += 1
    for demo_user in DEMO_USERS:
        if org_service.get_user_by_username(db, username=demo_user.username) is None:
            org = org_service.resolve_org(db, ref=demo_user.org) if demo_user.org else None
            org_service.create_user(
                db, actor=SYSTEM_ACTOR, username=demo_user.username, password=DEMO_PASSWORD,
                role=demo_user.role, org=org, display_name=demo_user.display_name, is_demo=True,
            )
            summary.created_users += 1
    return summary


def _child(db: Session, parent: Org, name: str) -> Org | None:
    return db.scalar(select(Org).where(Org.parent_id == parent.id, Org.name == name))


def _city_children(db: Session, city: Org, level: OrgLevel) -> list[Org]:
    return list(
        db.scalars(
            select(Org)
            .where(Org.parent_id == city.id, Org.level == level.value)
            .order_by(Org.code)
        )
    )


def _departments(db: Session, city: Org, dept_class: DeptClass) -> list[Org]:
    return [o for o in _city_children(db, city, OrgLevel.department)
            if o.dept_class == dept_class.value]
