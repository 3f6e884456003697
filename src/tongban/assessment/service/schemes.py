"""Scheme versions: loading (validated, immutable by content hash), listing, choosing the one in
force for a period, diffing two versions."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, load_only

from tongban.assessment.models import Scheme
from tongban.assessment.scheme import (
    IndicatorChange,
    SchemeDef,
    canonical_json,
    content_hash,
    diff_schemes,
    parse_scheme,
)
from tongban.assessment.service.values import declare_imported, known_metrics
from tongban.core import audit
from tongban.core.errors import (
    Conflict,
    NotFound,
    RowError,
    ValidationFailed,
)
from tongban.core.listing import Listing, ListParams, Page, contains_text, paginate
from tongban.core.periods import check_period, period_label
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.enums import Area
from tongban.org.models import Cohort

_DEFINITIONS: dict[str, SchemeDef] = {}  # content hash → definition (versions never change)


def scheme_definition(scheme: Scheme) -> SchemeDef:
    """The validated definition of a stored scheme (parsed once per content hash)."""
    definition = _DEFINITIONS.get(scheme.content_hash)
    if definition is None:
        definition = _DEFINITIONS[scheme.content_hash] = SchemeDef.model_validate(scheme.content)
    return definition


@audit.action({"scheme.loaded": "载入考核方案"})
def load_scheme(db: Session, *, actor: Actor, text: str, filename: str = "") -> tuple[Scheme, bool]:
    """Validate and store a scheme version; loading the same content again changes nothing.

    A different content under an existing code and version is refused: versions are immutable.
    """
    org_service.require_manager(actor, "加载考核方案")
    definition = parse_scheme(text, filename=filename, known=known_metrics(db))
    digest = content_hash(definition)
    existing = db.scalar(
        select(Scheme).where(Scheme.code == definition.code, Scheme.version == definition.version)
    )
    if existing is not None:
        if existing.content_hash == digest:
            return existing, False
        raise Conflict(
            f"考核方案 {definition.code} 的 {definition.version} 版已存在且内容不同；"
            "已加载的版本不可修改，请使用新的版本号"
        )
    unknown = [c for c in definition.cohorts
               if db.scalar(select(Cohort.id).where(Cohort.code == c)) is None]
    if unknown:
        raise ValidationFailed(
            errors=[RowError(None, "cohort", f"考核分组「{c}」不存在", filename or None)
                    for c in unknown],
            summary="考核方案校验未通过",
        )
    scheme = Scheme(
        code=definition.code,
        version=definition.version,
        name=definition.name,
        issuer=definition.issuer,
        effective_from=definition.effective_from,
        effective_to=definition.effective_to,
        cohorts=definition.cohorts,
        total_points=definition.total_points,
        indicator_count=len(definition.indicators()),
        content=json.loads(canonical_json(definition)),
        source_yaml=text,
        content_hash=digest,
        loaded_by=actor.username,
    )
    db.add(scheme)
    db.flush()
    declare_imported(db, codes=[d.code for d in definition.data_items],
                     source=f"考核方案 {definition.code}@{definition.version}",
                     names={d.code: (d.name, d.unit) for d in definition.data_items})
    audit.record(
        db, actor=actor, action="scheme.loaded", object_type="scheme",
        object_id=f"{scheme.code}@{scheme.version}",
        changes={"hash": digest, "indicators": scheme.indicator_count,
                 "effective_from": scheme.effective_from, "cohorts": scheme.cohorts},
    )
    return scheme, True


#: Scheme versions as a list: by code, then in the order they came into force.
SCHEMES = Listing(
    sorts={"code": ("方案代码", [Scheme.code, Scheme.effective_from, Scheme.loaded_at]),
           "effective_from": ("起始考核期", [Scheme.effective_from, Scheme.code])},
    key=Scheme.id, search="方案代码或名称中的文字")


def list_schemes(db: Session, *, actor: Actor, params: ListParams) -> Page[Scheme]:
    """A page of the loaded scheme versions (their content is read when one is opened)."""
    org_service.require_area(actor, Area.schemes)
    stmt = select(Scheme).options(defer(Scheme.content), defer(Scheme.source_yaml))
    if params.q:
        stmt = stmt.where(contains_text(params.q, Scheme.code, Scheme.name))
    return paginate(db, stmt, params=params, order=SCHEMES.order(params, default=[
        Scheme.code, Scheme.effective_from, Scheme.loaded_at, Scheme.id]))


def get_scheme(db: Session, *, actor: Actor, ref: str) -> Scheme:
    """``code@version``, or ``code`` for its newest version."""
    org_service.require_area(actor, Area.schemes)
    code, _, version = ref.partition("@")
    stmt = select(Scheme).where(Scheme.code == code)
    if version:
        stmt = stmt.where(Scheme.version == version)
    scheme = db.scalar(stmt.order_by(Scheme.effective_from.desc(), Scheme.id.desc()).limit(1))
    if scheme is None:
        raise NotFound(f"未找到考核方案「{ref}」")
    return scheme


def scheme_for(db: Session, *, cohort: Cohort, period: str) -> Scheme:
    """The scheme in force for ``cohort`` in ``period`` (the newest version that covers it)."""
    check_period(period)
    # Only what choosing needs: a scheme's content is loaded for the one chosen, when read.
    candidates = [
        s for s in db.scalars(select(Scheme).order_by(Scheme.effective_from, Scheme.id).options(
            load_only(Scheme.code, Scheme.version, Scheme.cohorts, Scheme.effective_from,
                      Scheme.effective_to, Scheme.content_hash)))
        if cohort.code in s.cohorts and s.effective_from <= period
        and (s.effective_to is None or period <= s.effective_to)
    ]
    if not candidates:
        raise NotFound(f"{period_label(period)}没有适用于「{cohort.name}」的考核方案")
    newest = max(candidates, key=lambda s: (s.effective_from, s.id))
    rivals = {s.code for s in candidates if s.effective_from == newest.effective_from}
    if len(rivals) > 1:
        raise Conflict(f"{period_label(period)}「{cohort.name}」同时适用多个考核方案："
                       f"{'、'.join(sorted(rivals))}")
    return newest


def diff(db: Session, *, actor: Actor, old_ref: str, new_ref: str) -> list[IndicatorChange]:
    old = scheme_definition(get_scheme(db, actor=actor, ref=old_ref))
    new = scheme_definition(get_scheme(db, actor=actor, ref=new_ref))
    return diff_schemes(old, new)
