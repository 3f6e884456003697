"""Pydantic models of the catalog API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tongban.catalog.enums import ItemType


class ItemRead(BaseModel):
    id: int
    impl_code: str
    base_code: str
    name: str
    department: str
    item_type: ItemType
    item_type_label: str
    main_item: str
    area_code: str
    link: str
    org_code: str
    org_name: str
    updated_at: datetime


class ItemImportRead(BaseModel):
    """What an import did (``dry_run``: would do): counts, the departments the file replaced
    (``partial``: only some of the catalog's, ``kept`` items of the others left), and up to 10
    names per kind of change."""

    org_code: str
    added: int
    changed: int
    unchanged: int
    removed: int
    kept: int
    departments: list[str]
    partial: bool
    dry_run: bool
    names: dict[str, list[str]]
