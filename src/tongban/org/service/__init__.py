"""Operations on orgs, cohorts, users and tokens; org scoping for every other domain.

Every function takes keyword-only arguments; writes are audited. One module per concern:

- ``scoping``: which orgs an actor may see, ``require_manager`` / ``require_citywide``;
- ``orgs``: the org tree (names and pinyin, resolving, reading, searching, adding);
- ``reference``: the division tree and the reference cohort loaded from ``tongban.data``;
- ``cohorts``: named sets of orgs ranked together;
- ``users``: users, roles and passwords, login throttling, API tokens, browser sessions.

(``org.access`` is the other side: the FastAPI dependencies that find the actor of a request.)
Callers use the functions re-exported here (``from tongban.org import service``).
"""

from __future__ import annotations

from tongban.org.service.cohorts import (
    allowed_cohort_actions,
    check_cohort_action,
    cohort_orgs,
    create_cohort,
    get_cohort,
    list_cohorts,
    member_ids,
    set_cohort_members,
)
from tongban.org.service.orgs import (
    ORG_CODE,
    OrgNotResolved,
    child_counts,
    children,
    city_of,
    create_org,
    describe_org,
    get_org,
    org_level_counts,
    pinyin_of,
    resolve_org,
    root_orgs,
    search_orgs,
    short_name_of,
)
from tongban.org.service.reference import (
    PROVINCE_CODE,
    SICHUAN_CITIES_COHORT,
    ReferenceLoad,
    load_reference_divisions,
)
from tongban.org.service.scoping import (
    areas,
    can_see,
    ensure_visible,
    own_org,
    require_area,
    require_citywide,
    require_manager,
    scope_condition,
    visible_org_ids,
)
from tongban.org.service.users import (
    TOKEN_USE_INTERVAL,
    actor_for,
    actor_for_api_token,
    actor_for_session,
    analysts,
    authenticate,
    change_own_password,
    create_api_token,
    create_user,
    end_session,
    end_user_sessions,
    escalation_chain,
    get_user,
    get_user_by_username,
    list_api_tokens,
    list_users,
    people_of,
    production_problems,
    recipients,
    record_token_use,
    require_user_admin,
    revoke_api_token,
    revoke_user_tokens,
    start_session,
    update_user,
)

__all__ = [
    "ORG_CODE",
    "PROVINCE_CODE",
    "SICHUAN_CITIES_COHORT",
    "TOKEN_USE_INTERVAL",
    "OrgNotResolved",
    "ReferenceLoad",
    "actor_for",
    "actor_for_api_token",
    "actor_for_session",
    "allowed_cohort_actions",
    "analysts",
    "areas",
    "authenticate",
    "can_see",
    "change_own_password",
    "check_cohort_action",
    "child_counts",
    "children",
    "city_of",
    "cohort_orgs",
    "create_api_token",
    "create_cohort",
    "create_org",
    "create_user",
    "describe_org",
    "end_session",
    "end_user_sessions",
    "ensure_visible",
    "escalation_chain",
    "get_cohort",
    "get_org",
    "get_user",
    "get_user_by_username",
    "list_api_tokens",
    "list_cohorts",
    "list_users",
    "load_reference_divisions",
    "member_ids",
    "org_level_counts",
    "own_org",
    "people_of",
    "pinyin_of",
    "production_problems",
    "recipients",
    "record_token_use",
    "require_area",
    "require_citywide",
    "require_manager",
    "require_user_admin",
    "resolve_org",
    "revoke_api_token",
    "revoke_user_tokens",
    "root_orgs",
    "scope_condition",
    "search_orgs",
    "set_cohort_members",
    "short_name_of",
    "start_session",
    "update_user",
    "visible_org_ids",
]
