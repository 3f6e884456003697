"""Demo rectification tasks, dated relative to today so the boards always have a story:

- the province flags 13 abnormal service guides across four orgs, due in a few days, 0.2 points
  each to 巴中市 under A04 (the risk board shows the rank this would cost);
- a city inspection of 巴州区's data-sharing cascade, overdue and escalated;
- an 恩阳区 claim task closed ahead of time, a 通江县 one closed late.

Item codes are base codes of real Sichuan service items (shared across cities), with their names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import workdays
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import UnknownCalendarYear, local_today
from tongban.org import service as org_service
from tongban.rectification import jobs
from tongban.rectification import service as rectification
from tongban.rectification.enums import TaskAction, TaskSource
from tongban.rectification.models import RectificationTask

GUIDES = [
    ("市交通运输局", "511A0014100002", "客运班线延续经营许可", "申请材料清单与实施规范不一致"),
    ("市交通运输局", "511A0014200003", "道路旅客运输企业设立子公司经营许可", "承诺时限未按规定压缩"),
    ("市交通运输局", "511A0014200002", "道路旅客运输经营者扩大经营范围", "办理流程缺少特别程序说明"),
    ("市交通运输局", "511A0302900000", "港口内进行危险货物的装卸、过驳作业许可", "法定依据引用已废止条款"),
    ("市住房和城乡建设局", "512B0110100008", "住宅专项维修资金交存", "收费依据未注明"),
    ("市住房和城乡建设局", "512B0110100009", "住宅专项维修资金使用备案", "材料“复印件”份数缺失"),
    ("市住房和城乡建设局", "512B0110100006", "住宅专项维修资金查询", "办理地点与窗口实际不符"),
    ("市人力资源和社会保障局", "51201400600005", "养老保险供养亲属领取待遇资格认证", "网办深度标注错误"),
    ("市人力资源和社会保障局", "51201400100002", "机关事业单位社会保险缴费申报与变更", "申请表样表缺失"),
    ("市人力资源和社会保障局", "512B0068100006", "企业职工基本养老保险与城乡居民基本养老保险互转申请",
     "咨询电话无效"),
    ("巴州区", "512B0359600026", "城乡居民基本养老保险关系转移接续申请", "承诺时限超过法定时限"),
    ("巴州区", "511A0138000000", "适龄儿童、少年因身体状况需要延缓入学或者休学审批",
     "申请条件表述与上位法不一致"),
    ("巴州区", "512C0053300008", "学生资助政策咨询", "办事指南未公开"),
]
RESOLVED = {"511A0014100002", "511A0014200003", "512B0110100008", "51201400600005",
            "512B0359600026"}


@dataclass
class RectificationDemoSummary:
    tasks: int = 0
    lines: int = 0
    notifications: int = 0


def _feedback_csv(due: date) -> bytes:
    lines = ["item_code,item_name,problem,department,due"]
    for department, code, name, problem in GUIDES:
        lines.append(f'{code},"{name}","{problem}",{department},{due.isoformat()}')
    return ("\n".join(lines) + "\n").encode()


def load_rectification_demo(db: Session, *, today: date | None = None) -> RectificationDemoSummary:
    """Add the demo tasks once; later runs change nothing."""
    summary = RectificationDemoSummary()
    if db.scalar(select(RectificationTask.id).limit(1)) is not None:
        return summary
    today = today or local_today()
    try:
        due = workdays.add_workdays(today, 3, db=db)
    except UnknownCalendarYear:
        due = today + timedelta(days=4)
    result = rectification.import_feedback(
        db, actor=SYSTEM_ACTOR, source=io.BytesIO(_feedback_csv(due)),
        filename="省政务服务管理局异常办事指南反馈清单.csv", issued_on=today - timedelta(days=10),
        penalty_indicator="A04", points_each=0.2)
    summary.tasks += result.tasks
    summary.lines += result.lines
    for task_id in result.task_ids:
        task = rectification.get_task(db, actor=SYSTEM_ACTOR, task_id=task_id)
        rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.acknowledge)
        rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.start)
        for line in task.lines:
            if line.item_code in RESOLVED:
                rectification.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=line.id,
                                           resolution="已按实施规范修改办事指南并重新发布")
    bazhou = org_service.resolve_org(db, ref="巴州区")
    cascade = rectification.create_task(
        db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="数据共享级联",
        title="数据共享接口级联异常整改", org=bazhou, issued_on=today - timedelta(days=20),
        due_on=today - timedelta(days=3), responsible_person="张丽",
        detail="省共享交换平台调整级联标准后，巴州区4个数据接口未按新标准注册。",
        lines=[rectification.LineInput("", name, "未按新级联标准注册") for name in
               ("户籍人口信息接口", "不动产登记信息接口", "社会保障卡信息接口", "营业执照信息接口")],
        penalty=rectification.Penalty("D02", 0.5))
    rectification.transition(db, actor=SYSTEM_ACTOR, task=cascade, action=TaskAction.acknowledge)
    rectification.resolve_line(db, actor=SYSTEM_ACTOR, task=cascade, line_id=cascade.lines[0].id,
                               resolution="已按新标准重新注册")
    summary.tasks += 1
    for org_name, due_offset in (("恩阳区", 12), ("通江县", -6)):
        task = rectification.create_task(
            db, actor=SYSTEM_ACTOR, source=TaskSource.city_inspection, category="事项认领",
            title=f"{org_name}未认领事项整改", org=org_service.resolve_org(db, ref=org_name),
            issued_on=today - timedelta(days=25), due_on=today + timedelta(days=due_offset),
            lines=[rectification.LineInput(
                "511A0138000000", "适龄儿童、少年因身体状况需要延缓入学或者休学审批", "应认领未认领")])
        for action in (TaskAction.acknowledge, TaskAction.start):
            rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=action)
        rectification.resolve_line(db, actor=SYSTEM_ACTOR, task=task, line_id=task.lines[0].id,
                                   resolution="已认领并填报实施清单")
        rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.submit,
                                 evidence="已完成认领，截图见附件。")
        rectification.transition(db, actor=SYSTEM_ACTOR, task=task, action=TaskAction.accept)
        summary.tasks += 1
    report = jobs.run(db, as_of=today)
    summary.notifications = report.reminders + report.escalations
    return summary
