"""The demo city's service-item catalog: a real Sichuan district's published list."""

from __future__ import annotations

from importlib import resources

from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.tabular import ImportCounts
from tongban.org import service as org_service

#: 广安区's 1,135 items as 四川政务服务网 lists them, used as the demo city's own list
ITEMS_FILE = "sczwfw_guangan_district_items.csv"


def load_catalog_demo(db: Session) -> ImportCounts:
    """Import the list as the demo city's catalog; running it again changes nothing."""
    city = org_service.resolve_org(db, ref=get_settings().city_code)
    source = resources.files("tongban.data").joinpath("items", ITEMS_FILE)
    with source.open("rb") as stream:
        return catalog.import_items(db, actor=SYSTEM_ACTOR, org=city, source=stream,
                                    filename=ITEMS_FILE)
