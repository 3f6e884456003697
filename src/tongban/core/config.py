"""Settings: one class, read from the environment (prefix ``TONGBAN_``) and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SECRET_KEY = "change-me-development-only"


class Settings(BaseSettings):
    """Every setting of the platform, with the documented default.

    ``.env.example`` at the repository root lists them all.
    """

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{PROJECT_ROOT / 'var' / 'tongban.db'}"
    )
    #: PostgreSQL connections a process keeps open and may open beyond them under a burst
    #: (a request, the dispatcher and the courier each hold one only while they work).
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    secret_key: str = DEFAULT_SECRET_KEY
    #: Keys that encrypt personal data (phone numbers), apart from the session secret: Fernet
    #: keys, comma separated, newest first (`tongban keys generate`, then `tongban keys rotate`).
    #: Empty: one derived from secret_key (development only; production refuses to start).
    data_keys: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    #: Requests working inside the app at once; keep well below the 40 worker threads.
    max_concurrent_requests: int = Field(default=8, ge=1, le=32)

    #: Request body caps in bytes, enforced before and while a body is read: the public routes
    #: (rating, login), uploads (multipart: imports and evidence) and everything else (JSON).
    public_body_max_bytes: int = 16 * 1024
    upload_body_max_bytes: int = 64 * 1024 * 1024
    body_max_bytes: int = 4 * 1024 * 1024
    #: Seconds a client may pause while sending a body before it gets 408.
    body_idle_seconds: float = Field(default=10.0, gt=0)

    #: Redis for the rate-limit counters (e.g. redis://127.0.0.1:6379/0); empty: the database.
    redis_url: str = ""

    session_max_age_hours: int = 8
    #: Failed logins allowed per window: one name from one client, all names from one client,
    #: one name from everywhere (distributed guessing); the window is login_lockout_minutes.
    login_max_failures: int = 5
    login_max_failures_per_client: int = 20
    login_max_failures_per_user: int = 50
    login_lockout_minutes: int = 15

    timezone: str = "Asia/Shanghai"

    alert_rank_drop: int = Field(default=3, description="排名下降达到该名次数即预警")

    # Where the site is reached from outside (links in e-mails and robot messages).
    public_url: str = "http://127.0.0.1:8000"
    # Notification channels besides the in-app inbox: console,email,sms,wecom,dingtalk.
    notify_channels: str = ""
    #: The outbox (core/outbox.py): seconds between deliveries when no commit wakes it, how
    #: long a claimed message is held before another process may take it, and how many
    #: failed attempts (30 s, 1 min, 2 min … apart) before it is kept as failed.
    outbox_seconds: float = Field(default=5, gt=0)
    outbox_lease_seconds: int = Field(default=120, ge=10)
    outbox_max_attempts: int = Field(default=8, ge=1)
    #: 数据共享 (datasharing/): names of the key data the province or the public demands (a
    #: dataset whose name holds one is key data), the working days after a period's end by
    #: which its delivery is due, per frequency, the weights of a dataset's quality score, the
    #: drop in rows against the previous delivery that is flagged, and the provincial exchange
    #: platform (empty: the simulated one inside this server, outside production).
    data_key_names: str = ("市场主体登记,不动产登记,社会保险,住房公积金,婚姻登记,户籍人口,学历学位,"
                           "医疗保障,企业信用,行政许可,行政处罚")
    data_grace_workdays: str = "realtime:1,day:1,week:2,month:5,quarter:10,year:20"
    data_quality_weights: str = "validity:40,completeness:20,uniqueness:10,freshness:20,use:10"
    data_volume_drop: float = Field(default=0.3, gt=0, lt=1)
    data_cascade_url: str = ""
    data_cascade_token: str = ""
    #: The cascade standard the provincial platform publishes and this server speaks.
    data_cascade_standard: str = Field(default="v2", pattern=r"^v[12]$")
    #: Indicators that score the cascade, besides those reading ``shared``/``share_rate``
    #: (``scheme:indicator``, comma-separated): the points a failing cascade puts at risk.
    data_cascade_indicators: str = "sc-ywtb:E01"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "tongban@localhost"
    sms_gateway_url: str = ""
    wecom_webhook_url: str = ""
    dingtalk_webhook_url: str = ""
    # 企业微信 / 钉钉 applications: with these set, a user whose id there is known gets messages
    # in person (应用消息 / 工作通知); everyone else hears through the group robot above.
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    dingtalk_app_key: str = ""
    dingtalk_app_secret: str = ""
    dingtalk_agent_id: str = ""
    dingtalk_api_base: str = "https://oapi.dingtalk.com"

    #: Lists (API, pages, CLI): the rows a page holds unless asked, and the most it may hold
    #: (a larger page_size is refused with 422).
    list_page_size: int = Field(default=50, ge=1, le=1000)
    list_page_size_max: int = Field(default=500, ge=1, le=1000)
    #: The most rows an XLSX export of a list holds; a larger selection is refused.
    export_rows_max: int = Field(default=50_000, ge=1, le=1_000_000)

    # Imports (CSV/XLSX): the kinds of error listed before 另有 N 处错误, and the most columns a
    # file may have (PostgreSQL's bulk path stages one column per file column, at most 1600).
    import_error_groups_max: int = Field(default=50, ge=1, le=1000)
    import_columns_max: int = Field(default=1000, ge=20, le=1600)

    # 好差评 (reviews): deadlines in working days after receipt, tags, comment length.
    review_callback_workdays: int = 1
    review_rectify_workdays: int = 15
    review_tags: str = ("服务态度,办事效率,政策咨询,材料繁琐,系统故障,多次跑动,等待时间长,环境设施,"
                         "指南外材料,指南外条件,其他")
    review_comment_max: int = 500
    #: Public ratings (API and rating page) a minute: per client address, per org.
    review_rate_per_client: int = Field(default=10, ge=1)
    review_rate_per_org: int = Field(default=300, ge=1)
    #: A public rating identical to one the same client sent this many minutes before is held.
    review_repeat_minutes: int = Field(default=10, ge=0)
    #: Days a reviews import's rejects file (rows as they came, 0600) is kept before jobs run
    #: removes it.
    review_rejects_retention_days: int = Field(default=30, ge=1)
    #: Fewer ratings than this in a period and an org's rates are marked 样本不足 on boards,
    #: dashboards and reports rather than ranked (scoring stays as the scheme says).
    review_min_sample: int = Field(default=30, ge=1)
    #: Days after which a finished case nobody rated counts as 非常满意 (0: never, the default).
    review_default_rating_days: int = Field(default=0, ge=0, le=90)
    #: On PostgreSQL, check a CSV import in SQL over all rows at once (see reviews/service/bulk.py);
    #: false checks it row by row, as on SQLite and for XLSX. Both give the same result.
    review_bulk_sql: bool = True
    #: A rater's phone proved by an SMS code (where the sms channel is configured): minutes a
    #: code lives, wrong tries it survives, codes a phone and a client address may ask for an
    #: hour.
    review_phone_code_minutes: int = Field(default=10, ge=1, le=60)
    review_phone_code_attempts: int = Field(default=5, ge=1, le=10)
    review_phone_codes_per_phone: int = Field(default=5, ge=1)
    review_phone_codes_per_client: int = Field(default=20, ge=1)
    #: Answers (满意/不满意) a client address may send from tracking pages a minute.
    review_track_rate_per_client: int = Field(default=10, ge=1)

    # 跑团代办 (errand/).
    #: How far (km) a runner may be from a pickup point to see and grab the errand.
    errand_radius_km: float = Field(default=5.0, gt=0, le=500)
    #: Requests the public errand page takes a minute from one client address.
    errand_rate_per_client: int = Field(default=5, ge=1)
    #: Seconds a runner has to accept an offer (派单) before it goes back to the open pool.
    errand_offer_seconds: int = Field(default=60, ge=5)
    #: The halls' opening hours on working days, Beijing time: an SLA in working hours runs
    #: only inside them, one in working days ends at the last closing time.
    errand_hall_hours: str = Field(default="09:00-12:00,13:30-17:30",
                                   pattern=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*"
                                           r"(,\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*)*$")
    #: An errand accepted within this many minutes of its submission counts as answered.
    errand_answer_minutes: int = Field(default=30, ge=1)
    #: The number the requester's tracking page offers to call (政务服务便民热线 by default).
    errand_hotline: str = Field(default="12345", pattern=r"^[0-9-]{3,20}$")
    #: How errands of a zone find runners unless the zone sets its own: ``dispatch`` (offers
    #: by the dispatcher; the grab pool only after the cycles below), ``grab`` (the pool
    #: only) or ``both``.
    errand_mode: Literal["dispatch", "grab", "both"] = "both"
    #: Seconds between the dispatcher's cycles (W); 0 runs no dispatcher inside the server.
    errand_dispatch_seconds: int = Field(default=10, ge=0)
    #: Cycles an errand may go unassigned before a dispatch-only zone opens it to grabs (N).
    errand_pool_after_cycles: int = Field(default=6, ge=1)
    #: A runner's position older than this (seconds) keeps it out of dispatch.
    errand_position_max_age_seconds: int = Field(default=300, ge=10)
    #: Candidates per errand in a cycle (the k nearest runners in reach).
    errand_dispatch_candidates: int = Field(default=16, ge=1, le=1000)
    #: The dispatcher's cost, in minutes: pickup ETA at this speed (km/h) …
    errand_speed_kmh: float = Field(default=15.0, gt=0)
    #: … plus this weight times the minutes by which pickup + handling would pass the SLA …
    errand_handling_minutes: int = Field(default=90, ge=0)
    errand_late_weight: float = Field(default=2.0, ge=0)
    #: … plus this weight times the runner's load (errands held ÷ capacity) …
    errand_load_weight: float = Field(default=10.0, ge=0)
    #: … plus this weight per star of rating below 5 …
    errand_rating_weight: float = Field(default=4.0, ge=0)
    #: … plus this weight per offer declined or let expire in the last hours below.
    errand_decline_weight: float = Field(default=10.0, ge=0)
    errand_decline_hours: int = Field(default=24, ge=1)
    #: Postponing an errand to the next cycle costs this many minutes plus the second
    #: figure per minute of its age, so old errands are not left waiting.
    errand_postpone_minutes: float = Field(default=30.0, ge=0)
    errand_postpone_per_minute: float = Field(default=2.0, ge=0)
    #: Third-party channels (美团/饿了么/邮政 跑腿) staff may hand errands to, comma separated
    #: codes (meituan, eleme, postal, simulated). Empty: the simulated channel outside
    #: production, none in production.
    errand_channels: str = ""
    #: Each channel's callback secret, ``code:secret`` comma separated. Outside production a
    #: channel without one signs with a secret derived from secret_key; production refuses it.
    errand_channel_secrets: str = ""
    #: A signed callback older or newer than this many seconds is refused (replay window).
    errand_channel_replay_seconds: int = Field(default=300, ge=10, le=3600)
    #: Callbacks with a bad signature one client address may send a channel a minute; over
    #: it, every callback from that address is refused (429) until the minute ends.
    errand_channel_failures_per_client: int = Field(default=30, ge=1)
    #: Runners are suspended automatically (暂停接单, by ``jobs run``) after this many 差评
    #: (ratings of 1 or 2 stars) or this many SLA misses (errands they held not done by their
    #: due time) within the window, counting only since their last reinstatement; 0 turns a
    #: rule off.
    errand_suspend_bad_ratings: int = Field(default=3, ge=0)
    errand_suspend_sla_misses: int = Field(default=5, ge=0)
    errand_suspend_window_days: int = Field(default=30, ge=1)
    #: The largest hand-over photo (JPEG or PNG) a runner may upload, in bytes.
    errand_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    #: The largest 委托书 signature (PNG drawn on the phone page), in bytes; it travels in a
    #: public form, so it must stay well below public_body_max_bytes.
    errand_signature_max_bytes: int = Field(default=10 * 1024, ge=1024)
    #: 政务服务+邮政 coverage targets: outlets upgraded, share of outlets upgraded (percent),
    #: departments and items offered across the upgraded outlets.
    errand_postal_target_upgraded: int = Field(default=100, ge=0)
    errand_postal_target_rate: float = Field(default=90.0, ge=0, le=100)
    errand_postal_target_departments: int = Field(default=20, ge=0)
    errand_postal_target_items: int = Field(default=200, ge=0)

    # Rectification (整改督办).
    rectification_categories: str = "异常办事指南,数据共享级联,事项认领,证照应用,互联网+监管预警,其他"
    remind_workdays_before_due: int = 2
    upload_dir: Path = Field(default_factory=lambda: PROJECT_ROOT / "var" / "uploads")
    upload_max_bytes: int = 20 * 1024 * 1024
    upload_extensions: str = "pdf,jpg,jpeg,png,doc,docx,xls,xlsx,ofd,zip"
    sqlite_busy_timeout_ms: int = 5000
    # Background work: the server (or `tongban worker`) runs the daily jobs at these Beijing
    # times; exactly one process does (core/background.py). Off: run `tongban jobs run` by cron.
    background_jobs: bool = True
    jobs_at: str = "07:30"

    # The city whose office runs Tongban (6-digit 行政区划代码; its province follows) and the
    # issuer printed on its reports. The region is loaded when a database is created; a
    # database keeps its tree (a city of another province is refused).
    city_code: str = "511900"
    #: Which counties and townships the org tree holds: the chosen city's (``city``), or every
    #: city's of the province (``province``, for a provincial deployment).
    reference_scope: Literal["city", "province"] = "city"
    report_issuer: str = "巴中市政务服务和大数据管理局"
    #: 对标: the city the suggestions are for (a code or short name; empty: ``city_code``) and
    #: the materials an electronic licence or shared data covers (免提交 suggestions).
    benchmark_home_city: str = ""
    benchmark_answer_workdays: int = 10
    benchmark_exempt_materials: str = (
        "居民身份证,营业执照,户口簿,不动产权证书,结婚证,离婚证,出生医学证明,社会保障卡,"
        "驾驶证,行驶证,居住证,残疾人证")
    #: 办事指南体检: the rules that run (``benchmark.enums.GuideRule`` values), the elements a
    #: guide must fill (column headers of the catalog; a column no item of the snapshot fills is
    #: reported as not checked), the scheme indicator an abnormal guide costs points under and
    #: how many each, the review tags whose 差评 point at a guide, and the working days a
    #: department has for its 异常办事指南 task.
    benchmark_guide_rules: str = (
        "missing_element,promised_over_legal,instant_visits,duplicate_material,"
        "conflicting_material,bad_phone,list_mismatch")
    benchmark_guide_elements: str = (
        "实施部门,承诺办结时限,法定办结时限,设定依据,受理条件,办理地点,办理时间,咨询电话,监督电话,"
        "结果名称")
    benchmark_guide_indicator: str = "A03"
    benchmark_guide_points_each: float = 0.2
    benchmark_guide_review_tags: str = "指南外材料,指南外条件"
    benchmark_guide_task_workdays: int = Field(default=5, ge=1)
    #: The 公文 parts of a report (GB/T 9704): whether to print the 版头 (the issuer's name in
    #: red over a red line), the 文号 prefix of each kind (numbered per kind and year:
    #: 巴政数〔2026〕12号), and the 主送机关 line under the title.
    report_masthead: bool = True
    report_number_prefix_monthly: str = "巴政数"
    report_number_prefix_quarterly: str = "巴政数调"
    report_number_prefix_weekly: str = "巴政数通"
    report_recipients: str = "各县（区）政务服务和大数据管理局，市级各部门"
    # Reports (周通报/月考评/季调度): the archive folder, the weekday (1 = Monday) on which
    # `jobs run` writes the weekly bulletin, and the CJK fonts charts may use, first found wins.
    report_dir: Path = Field(default_factory=lambda: PROJECT_ROOT / "var" / "reports")
    report_weekly_weekday: int = Field(default=1, ge=1, le=7)
    report_chart_fonts: str = "Noto Sans CJK SC,Source Han Sans SC,Noto Serif CJK SC,WenQuanYi Zen Hei"

    #: A map tile layer for the dispatcher console and the request page's point picker, as a
    #: Leaflet URL template (https, with {z}, {x}, {y}; {s} for subdomains), e.g. 天地图 with
    #: its key; empty: no tiles (the console draws a plain scatter, the request page takes
    #: the browser's position or typed coordinates). Its host joins the pages' img-src.
    map_tile_url: str = Field(default="", pattern=r"^$|^https://[^\s\"'<>]+$")
    #: The tile provider's attribution shown on the map (plain text).
    map_tile_attribution: str = ""

    static_vendor_dir: Path = Field(
        default_factory=lambda: PROJECT_ROOT / "node_modules",
        description="where npm put echarts and htmx; served under /static/vendor",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def notify_channel_list(self) -> list[str]:
        return [c.strip() for c in self.notify_channels.split(",") if c.strip()]

    @property
    def rectification_category_list(self) -> list[str]:
        return [c.strip() for c in self.rectification_categories.split(",") if c.strip()]

    @property
    def benchmark_exempt_list(self) -> list[str]:
        return [m.strip() for m in self.benchmark_exempt_materials.split(",") if m.strip()]

    @property
    def benchmark_guide_rule_list(self) -> list[str]:
        return [r.strip() for r in self.benchmark_guide_rules.split(",") if r.strip()]

    @property
    def benchmark_guide_element_list(self) -> list[str]:
        return [e.strip() for e in self.benchmark_guide_elements.split(",") if e.strip()]

    @property
    def benchmark_guide_review_tag_list(self) -> list[str]:
        return [t.strip() for t in self.benchmark_guide_review_tags.split(",") if t.strip()]

    @property
    def review_tag_list(self) -> list[str]:
        return [t.strip() for t in self.review_tags.split(",") if t.strip()]

    @property
    def report_chart_font_list(self) -> list[str]:
        return [f.strip() for f in self.report_chart_fonts.split(",") if f.strip()]

    def report_number_prefix(self, kind: str) -> str:
        """The 文号 prefix of a report kind (monthly, weekly, quarterly)."""
        return str(getattr(self, f"report_number_prefix_{kind}"))

    @property
    def data_key_name_list(self) -> list[str]:
        return [w.strip() for w in self.data_key_names.split(",") if w.strip()]

    def data_pairs(self, setting: str) -> dict[str, float]:
        """``a:1,b:2`` settings as a mapping (a wrong entry is refused by name)."""
        found: dict[str, float] = {}
        for part in (p.strip() for p in getattr(self, setting).split(",") if p.strip()):
            key, _, value = part.partition(":")
            try:
                found[key.strip()] = float(value)
            except ValueError:
                raise ValueError(f"TONGBAN_{setting.upper()} 中的「{part}」应为 名称:数字") from None
        return found

    @property
    def upload_extension_set(self) -> set[str]:
        return {e.strip().lower().lstrip(".") for e in self.upload_extensions.split(",")}


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache after changing the environment)."""
    return Settings()
