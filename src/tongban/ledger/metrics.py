"""The 专项台账 metrics, as this feeder declares them (``assessment.metrics``): per org and
month, written by ``jobs.run`` (``service.record_metrics``) for the orgs of each type and the
counties above its townships. A type's YAML names which of these it writes (``metrics``).

- 乡镇事权承接: 承接率 = ``powers_taken`` ÷ ``powers_applicable`` (items of the org's categories
  less those 不适用); 落地率 = ``powers_landed`` ÷ ``powers_taken`` (taken items with at least one
  case handled in the month); 权责清单 compiled (1 or 0 a township) and the staff who passed
  the law-enforcement exam;
- 天府通办特色专区: ``zones_accepted`` against ``zones_target`` (the province's 3);
- 季调度表态: ``commitments_done`` ÷ ``commitments_applicable``.
"""

from __future__ import annotations

from tongban.assessment.metrics import count_of, declare, ratio_of

OWNER = "ledger"

METRICS = declare(
    OWNER,
    count_of("powers_applicable", "应承接事权数", "项", "法定、赋权或委托事项中除不适用外的"),
    count_of("powers_taken", "已承接事权数", "项"),
    count_of("powers_landed", "已落地事权数", "项", "已承接且当月有办件的事权"),
    ratio_of("powers_take_rate", "事权承接率", "powers_taken", "powers_applicable"),
    ratio_of("powers_landing_rate", "事权落地率", "powers_landed", "powers_taken"),
    count_of("powers_lists_compiled", "已编制权责清单的乡镇数", "个",
             "乡镇为1或0，县区为其乡镇之和"),
    count_of("powers_qualified_staff", "执法资格考试合格人数", "人"),
    count_of("zones_accepted", "特色专区验收通过数", "个"),
    count_of("zones_target", "特色专区目标数", "个"),
    ratio_of("zones_accept_rate", "特色专区验收完成率", "zones_accepted", "zones_target"),
    count_of("commitments_applicable", "表态承诺事项数", "项"),
    count_of("commitments_done", "已兑现承诺事项数", "项"),
    ratio_of("commitments_rate", "表态承诺兑现率", "commitments_done", "commitments_applicable"),
)
