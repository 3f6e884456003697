"""The 对标 metrics, as this feeder declares them (``assessment.metrics``): each department's
suggestions by month of issue, and the city's place in the province (``jobs.run``)."""

from __future__ import annotations

from tongban.assessment.metrics import amount_of, count_of, declare, ratio_of

OWNER = "benchmark"

METRICS = declare(
    OWNER,
    count_of("bench_received", "收到对标建议数", "条"),
    count_of("bench_due", "到期对标建议数", "条"),
    count_of("bench_answered_ontime", "按期答复对标建议数", "条"),
    count_of("bench_adopted", "采纳对标建议数", "条"),
    count_of("bench_implemented", "落实对标建议数", "条"),
    amount_of("bench_dtf", "前沿距离得分", "分", "与全省最优的距离，0到100"),
    amount_of("bench_rank", "对标全省名次", "名"),
    count_of("bench_cities", "参与对标的市州数", "个"),
    ratio_of("bench_answer_rate", "对标建议按期答复率", "bench_answered_ontime", "bench_due"),
    ratio_of("bench_adoption_rate", "对标建议采纳率", "bench_adopted", "bench_received"),
)
