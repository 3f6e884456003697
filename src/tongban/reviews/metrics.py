"""The 好差评 metrics, as this feeder declares them (``assessment.metrics``): what
``service.rates.record_metrics`` writes for every org and month, and how each rate is made.

A 差评 counts toward 差评按期整改率 in the month its rectification deadline falls (到期应整改),
not the month it was received: 按期整改 ÷ 到期应整改.
"""

from __future__ import annotations

from tongban.assessment.metrics import amount_of, count_of, declare, ratio_of

OWNER = "reviews"

METRICS = declare(
    OWNER,
    count_of("reviews", "评价数", "条", "本月评价（不含默认评价和暂不计入的重复评价）"),
    count_of("good_reviews", "好评数", "条", "满意及非常满意"),
    count_of("bad_reviews", "差评数", "条", "不满意及非常不满意"),
    *(count_of(f"level_{n}", f"{n}级评价数", "条") for n in range(1, 6)),
    count_of("cases_handled", "办件量", "件", "主动评价率的分母（导入的办件量）"),
    count_of("bad_cases_due", "到期应整改差评数", "件",
             "整改期限在本月到期（或已在到期前反馈）的差评，申诉成立的不计"),
    count_of("ontime_rectified", "按期整改差评数", "件", "到期应整改的差评中按期反馈整改结果的"),
    count_of("named_bad_due", "到期应回访实名差评数", "件",
             "回访期限在本月到期（或已回访）的实名差评"),
    count_of("named_called_back", "按时回访实名差评数", "件"),
    count_of("appeals_upheld", "申诉成立数", "件"),
    count_of("default_ratings", "默认评价数", "条", "办结后未评价按非常满意计的，单独统计"),
    amount_of("satisfaction_index", "满意度指数", "", "(平均等级 − 1) ÷ 4，0到1"),
    amount_of("review_score", "评价平均分值", "分", "按 10/8/6/3/0 计分的平均"),
    ratio_of("good_rate", "好评率", "good_reviews", "reviews"),
    ratio_of("bad_rate", "差评率", "bad_reviews", "reviews"),
    ratio_of("review_rate", "主动评价率", "reviews", "cases_handled"),
    ratio_of("ontime_rectification_rate", "差评按期整改率", "ontime_rectified", "bad_cases_due",
             "按期整改 ÷ 到期应整改"),
    ratio_of("named_callback_rate", "实名差评回访率", "named_called_back", "named_bad_due"),
)
