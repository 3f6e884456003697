"""The 数据开放共享 metrics, as this feeder declares them (``assessment.metrics``): per
department and month, written by ``jobs.run`` (``service.quality.record_metrics``).

- 归集率 = ``collected`` ÷ ``should_collect``: datasets delivered on schedule (their latest due
  delivery in by its deadline) ÷ datasets catalogued;
- 共享率 = ``shared`` ÷ ``should_share``: datasets to share (无条件 / 有条件) cascaded to the
  provincial platform (registered, and their last delivery pushed) ÷ datasets to share;
- 开放率 = ``opened`` ÷ ``should_open``: datasets to open (开放 / 有条件开放) delivered on
  schedule ÷ datasets to open;
- 级联率 = ``cascaded`` ÷ ``should_collect``; ``data_quality``: the mean quality score of the
  department's datasets (0–100); ``key_datasets``, ``key_datasets_fresh``: key data in the
  catalogue and delivered on schedule.
"""

from __future__ import annotations

from tongban.assessment.metrics import amount_of, count_of, declare, ratio_of

OWNER = "datasharing"

METRICS = declare(
    OWNER,
    count_of("should_collect", "应归集数据资源数", "个", "目录中的数据集"),
    count_of("collected", "已按期归集数据资源数", "个", "最近一期应交数据按时交付的数据集"),
    count_of("should_share", "应共享数据资源数", "个", "共享类型为无条件或有条件的数据集"),
    count_of("shared", "已共享数据资源数", "个", "应共享且已级联到省平台（注册并推送最近一次交付）"),
    count_of("should_open", "应开放数据资源数", "个", "开放类型为开放或有条件开放的数据集"),
    count_of("opened", "已开放数据资源数", "个", "应开放且按期交付的数据集"),
    count_of("cascaded", "已级联数据资源数", "个", "已注册且最近一次推送成功的数据集"),
    count_of("key_datasets", "重点数据集数", "个"),
    count_of("key_datasets_fresh", "按期更新的重点数据集数", "个"),
    amount_of("data_quality", "数据质量得分", "分", "各数据集质量得分的平均（0到100）"),
    ratio_of("collect_rate", "数据归集率", "collected", "should_collect"),
    ratio_of("share_rate", "数据共享率", "shared", "should_share"),
    ratio_of("open_rate", "数据开放率", "opened", "should_open"),
    ratio_of("cascade_rate", "数据级联率", "cascaded", "should_collect"),
    ratio_of("key_data_rate", "重点数据按期更新率", "key_datasets_fresh", "key_datasets"),
)
