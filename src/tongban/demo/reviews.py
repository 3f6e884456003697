"""Demo 好差评: a few weeks of ratings for 巴中's counties and departments up to today, through
the real import path, with some 差评 cases handled and some waiting or overdue."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_zone
from tongban.org import service as org_service
from tongban.reviews import service as reviews
from tongban.reviews.enums import EXCHANGE_CHANNELS, FEEDER_CHANNELS, CaseAction, Channel
from tongban.reviews.models import Review
from tongban.reviews.service import checks

COHORTS = ["bz-counties", "bz-dept-a"]
COMMENTS = {
    5: ["办事很快，工作人员很耐心", "一次就办好了", "帮办代办服务很贴心", ""],
    4: ["整体满意", "材料一次性告知，很清楚", ""],
    3: ["等待时间有点长", "流程还可以再简化", ""],
    2: ["跑了两次才办好，希望一次告知清楚", "系统经常卡顿，提交不了材料"],
    1: ["窗口工作人员态度不好，电话13812345678一直打不通", "材料要求反复变化，跑了三趟"],
}
BAD_TAGS = {2: "多次跑动；办事效率", 1: "服务态度；材料繁琐"}
#: Base codes of real Sichuan service items (shared by every city); the first two draw most 差评:
#: 户口迁移审批, 居住证办理, 教师资格认定, 旅馆业特种行业许可证核发, 居民身份证办理,
#: 延缓入学或者休学审批, 随迁子女义务教育入学, 普通护照签发.
ITEMS = ["511A0147300000", "512B0011200070", "511A0138600000", "511A0146000000",
         "513A0011200068", "511A0138000000", "512B0156000000", "511A0116400001"]


@dataclass
class ReviewDemoSummary:
    reviews: int = 0
    cases: int = 0


def demo_csv(org_codes: list[str], *, days: int = 21, seed: int = 7) -> str:
    rng = random.Random(seed)
    now = datetime.now(local_zone())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(checks.COLUMNS))
    channels = [c for c in Channel if c not in EXCHANGE_CHANNELS | FEEDER_CHANNELS]
    number = 0
    for offset in range(days, 0, -1):
        day = (now - timedelta(days=offset)).date()
        for code in org_codes:
            for _ in range(rng.randint(2, 6)):
                number += 1
                level = rng.choices([5, 4, 3, 2, 1], weights=[70, 18, 7, 3, 2])[0]
                channel = rng.choice(channels)
                named = level <= 2 and rng.random() < 0.7
                rated = datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59)))
                item = ITEMS[number % (2 if level <= 2 and number % 3 else len(ITEMS))]
                writer.writerow([
                    "sczwfw", f"demo-{number:06d}", channel.label, code, item,
                    f"BZ{day:%Y%m%d}{number:05d}", level, BAD_TAGS.get(level, ""),
                    rng.choice(COMMENTS[level]), "是" if named else "否",
                    f"139{rng.randint(10000000, 99999999)}" if named else "",
                    rated.strftime("%Y-%m-%d %H:%M:%S")])
    return out.getvalue()


def load_reviews_demo(db: Session) -> ReviewDemoSummary:
    """Add the demo ratings once; later runs change nothing."""
    summary = ReviewDemoSummary()
    if db.scalar(select(Review.id).where(Review.source == "sczwfw").limit(1)) is not None:
        return summary
    codes = [o.code for c in COHORTS
             for o in org_service.cohort_orgs(org_service.get_cohort(db, actor=SYSTEM_ACTOR,
                                                                     code=c))]
    result = reviews.import_reviews(db, actor=SYSTEM_ACTOR,
                                    source=io.BytesIO(demo_csv(codes).encode()),
                                    filename="四川政务服务网好差评导出.csv")
    summary.reviews, summary.cases = result.imported, result.cases_opened
    handled = reviews.visible_cases(db, actor=SYSTEM_ACTOR)
    oldest = sorted(handled, key=lambda c: c.received_on)[: max(1, len(handled) // 2)]
    for case_ in oldest:
        reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.callback,
                    note="已电话回访，群众反映属实")
        reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.verify)
        reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.rectify)
        reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.reply,
                    note=reviews.reply_template(case_) + "已当面向群众说明办理进度。")
        reviews.act(db, actor=SYSTEM_ACTOR, case_=case_, action=CaseAction.satisfied,
                    note="电话回访，群众表示对整改结果满意")
    return summary
