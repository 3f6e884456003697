"""Pydantic models of the 好差评 API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from tongban.reviews.enums import CaseState


class PublicReviewCreate(BaseModel):
    """A rating from the public: its id is made by the server (source ``public``)."""

    channel: str = Field(description="渠道代码或中文名：窗口、网站、APP、小程序、自助终端、12345、短信")
    org: str = Field(description="评价对象（代码或名称）")
    item_code: str = ""
    case_no: str = ""
    level: StrictInt | StrictStr = Field(description="1–5 或 非常满意/满意/基本满意/不满意/非常不满意")
    tags: list[str] | str = Field(default_factory=list)
    comment: str = ""
    named: StrictBool | StrictStr = False
    phone: str = ""

    def as_row(self) -> dict[str, object]:
        data = self.model_dump()
        data["tags"] = "；".join(self.tags) if isinstance(self.tags, list) else self.tags
        data["named"] = str(self.named).lower() if isinstance(self.named, bool) else self.named
        data["level"] = str(self.level)
        return data


class PublicRatingCreate(PublicReviewCreate):
    """A rating from the public, with the SMS code that proves its phone where SMS is
    configured (texted by the rating page)."""

    phone_code: str = Field(default="", max_length=12, description="短信验证码（开通短信时，留电话须填）")

    def as_row(self) -> dict[str, object]:
        data = super().as_row()
        data.pop("phone_code", None)
        return data


class ReviewCreate(PublicReviewCreate):
    """A rating a connected system sends with its own id (``source``, ``source_id``)."""

    source: str = Field(default="api", min_length=1, max_length=32)
    source_id: str = Field(min_length=1, max_length=64)
    rated_at: datetime | None = Field(default=None, description="无时区视为北京时间；默认现在")

    def as_row(self) -> dict[str, object]:
        data = super().as_row()
        data["rated_at"] = self.rated_at or datetime.now().astimezone()
        return data


class ReviewBatch(BaseModel):
    reviews: list[ReviewCreate] = Field(min_length=1, max_length=5000)


class IntakeRead(BaseModel):
    imported: int
    skipped: int
    cases_opened: int
    held: int = Field(default=0, description="与同一来源10分钟内相同的评价：保留但暂不计入，待管理员确认")
    tracking_url: str = Field(default="", description="公开评价的跟踪链接：评价人凭它查看处理进度、"
                                                      "确认满意与否（只给这一次）")


class RatingCodeRead(BaseModel):
    org_code: str
    org_name: str
    channel: str
    link: str = Field(description="评价页链接，可做成二维码印在回执上或随短信发送")


class ReviewRead(BaseModel):
    id: int
    source: str
    source_id: str
    channel: str
    org_code: str
    level: int
    tags: str
    comment: str
    named: bool
    phone: str
    rated_at: datetime
    voided: bool
    is_default: bool = Field(description="默认评价（办结后未评价按非常满意计），不计入任何比率")
    hold: str = Field(default="", description="held：与同一来源10分钟内相同、待确认；counted 已计入；"
                                              "discarded 已舍弃")


class CaseRead(BaseModel):
    id: int
    review_source_id: str
    org_code: str
    org_name: str
    state: CaseState
    category: str
    level: int
    comment: str
    phone: str
    received_on: date
    callback_due: date
    rectify_due: date
    overdue: bool
    reply_text: str
    appeal_reason: str
    appeal_upheld: bool | None


class CaseActionRequest(BaseModel):
    note: str = ""


class DeptCodeRead(BaseModel):
    code: str = Field(description="部门统一社会信用代码（好差评交换记录的 deptCode）")
    org_code: str
    org_name: str
    created_by: str
    created_at: datetime


class DeptCodeCreate(BaseModel):
    code: str = Field(max_length=40, description="18位统一社会信用代码")
    org: str = Field(max_length=200, description="单位名称或代码")
