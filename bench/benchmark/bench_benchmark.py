"""Benchmark: 对标 over the province — 21 cities × 1,200 items imported, aligned, the frontier
and the suggestions computed; and the alignment's precision, recall and pairwise F1 on a
labelled set with known truth.

The set is generated from the real item names (广安区's 1,135, repeated with a suffix where the
list runs out) before any tuning: each city offers about nine in ten of the items; a row keeps
its codes (the item's base code in the city's area) or, one in three, loses them and has its
name written otherwise — brackets full or half width, spaces, a 市级/县级 marker, a 核发/审批
ending added or dropped, a 的 or 及 — and the item type and department. Traps: for 60 licences
the 变更 and 注销 items are items of their own in every city (code-less rows of them too).
Pairs of rows put into one group are compared with the truth: precision, recall, F1, over all
rows and over the pairs with a code-less row; reported on two halves of the items (by a hash
of the truth id), of which none was used to tune the matcher.

Targets (issue #15): import + align + frontier + suggestions ≤ 10 s; F1 ≥ 0.97 overall and on
the code-less rows.

    .venv/bin/python bench/benchmark/bench_benchmark.py                 # SQLite (temp file)
    .venv/bin/python bench/benchmark/bench_benchmark.py --postgres URL  # a fresh PG database
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

os.environ.setdefault("TONGBAN_ENV", "test")

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.benchmark import service
from tongban.benchmark.models import AlignmentMember
from tongban.core import db as core_db
from tongban.core.security import SYSTEM_ACTOR
from tongban.org import service as org_service

ITEMS = 1200
TRAPS = 60
SUFFIXES = ("", "（乙类）", "（丙类）")


@dataclass(frozen=True)
class Truth:
    id: int
    name: str
    base: str
    item_type: str
    department: str


def truths() -> list[Truth]:
    source = resources.files("tongban.data").joinpath("items", "sczwfw_guangan_district_items.csv")
    with source.open("rb") as stream:
        rows = list(csv.DictReader(io.StringIO(stream.read().decode("utf-8-sig"))))
    found: list[Truth] = []
    seen: set[str] = set()
    k = 0
    while len(found) < ITEMS:
        for row in rows:
            name = row["name"] + SUFFIXES[k]
            if name in seen:
                continue
            seen.add(name)
            base = row["itemCode"].split("-")[0] + (f"X{k}" if k else "")
            found.append(Truth(len(found), name, base, row["taskType"],
                               row["department"].replace("区", "市", 1)))
            if len(found) == ITEMS:
                break
        k += 1
    licences = [t for t in found if t.name.endswith(("许可", "核发", "许可证核发"))][:TRAPS]
    for t in licences:
        stem = t.name.removesuffix("核发")
        for action in ("变更", "注销"):
            if any(f"{stem}{action}" == n.replace("（", "").replace("）", "")
                   for n in seen):
                continue  # the real list has it already (客运站经营许可（注销）)
            seen.add(f"{stem}{action}")
            found.append(Truth(len(found), f"{stem}{action}", "", t.item_type, t.department))
    return found


def vary(name: str, rng: random.Random) -> str:
    """The same item's name as another city writes it."""
    choice = rng.randrange(7)
    if choice == 0:
        return name.replace("（", "(").replace("）", ")")
    if choice == 1:
        return f"{name}（市级）"
    if choice == 2:
        return name.replace("审批", "").replace("许可", "许可核发", 1) if "许可" in name \
            else f"{name}审批"
    if choice == 3:
        return name[: len(name) // 2] + " " + name[len(name) // 2:]
    if choice == 4:
        return name.replace("和", "及", 1) if "和" in name else f"{name}（县级）"
    if choice == 5:
        return f"市本级{name}" if len(name) > 6 else f"{name}（市级/县级）"
    return name


@dataclass
class Row:
    city: int
    key: str
    truth: int
    coded: bool


def catalogs(cities: list[str], items: list[Truth], areas: list[str]) -> tuple[
        dict[str, tuple[bytes, bytes]], list[Row]]:
    rng = random.Random(15)
    files: dict[str, tuple[bytes, bytes]] = {}
    labels: list[Row] = []
    for n, (city, area) in enumerate(zip(cities, areas, strict=True)):
        out, mats = io.StringIO(), io.StringIO()
        writer, material_writer = csv.writer(out), csv.writer(mats)
        writer.writerow(["基本编码", "实施编码", "事项名称", "实施部门", "事项类型", "承诺办结时限",
                         "办理环节数", "跑动次数"])
        material_writer.writerow(["事项", "材料名称", "是否必需"])
        used: set[str] = set()
        for t in items:
            if rng.random() < 0.1:
                continue
            coded = bool(t.base) and rng.random() < 0.67
            if coded:
                impl = f"{t.base}-{area}-{n:03d}-{t.id:06d}"
                writer.writerow(["", impl, t.name, t.department, t.item_type,
                                 rng.choice((0, 3, 5, 10, 20)), rng.randint(2, 5),
                                 rng.randint(0, 2)])
                key = impl
            else:
                name = vary(t.name, rng)
                if f"name:{name}" in used:
                    continue  # two items written alike in one city: the city lists one
                writer.writerow(["", "", name, t.department, t.item_type,
                                 rng.choice((0, 3, 5, 10, 20)), rng.randint(2, 5),
                                 rng.randint(0, 2)])
                key = f"name:{name}"
            for m in range(rng.randint(1, 4)):
                material_writer.writerow([key.removeprefix("name:"), f"材料{m}",
                                          "是" if rng.random() < 0.8 else "否"])
            used.add(key)
            labels.append(Row(n, key, t.id, coded))
        files[city] = (out.getvalue().encode(), mats.getvalue().encode())
    return files, labels


def pairs(groups: dict[object, list[int]]) -> int:
    return sum(len(v) * (len(v) - 1) // 2 for v in groups.values())


def scores(rows: list[Row], predicted: dict[tuple[int, str], int]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over ``rows``."""
    by_truth: dict[object, list[int]] = defaultdict(list)
    by_group: dict[object, list[int]] = defaultdict(list)
    both: dict[object, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        group = predicted.get((row.city, row.key), -1 - i)
        by_truth[row.truth].append(i)
        by_group[group].append(i)
        both[(row.truth, group)].append(i)
    tp, pp, tt = pairs(both), pairs(by_group), pairs(by_truth)
    precision, recall = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    return precision, recall, (2 * precision * recall / (precision + recall)
                               if precision + recall else 0.0)


def codeless_scores(rows: list[Row], predicted: dict[tuple[int, str], int]) -> tuple[
        float, float, float]:
    """The scores over the pairs with at least one code-less row (all pairs minus the pairs
    of two coded rows)."""
    def counts(subset: list[Row]) -> tuple[int, int, int]:
        by_truth: dict[object, list[int]] = defaultdict(list)
        by_group: dict[object, list[int]] = defaultdict(list)
        both: dict[object, list[int]] = defaultdict(list)
        for i, row in enumerate(subset):
            group = predicted.get((row.city, row.key), -1 - i)
            by_truth[row.truth].append(i)
            by_group[group].append(i)
            both[(row.truth, group)].append(i)
        return pairs(both), pairs(by_group), pairs(by_truth)

    a, c = counts(rows), counts([r for r in rows if r.coded])
    tp, pp, tt = a[0] - c[0], a[1] - c[1], a[2] - c[2]
    precision, recall = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    return precision, recall, (2 * precision * recall / (precision + recall)
                               if precision + recall else 0.0)


def half_of(truth: int) -> int:
    return hashlib.sha256(str(truth).encode()).digest()[0] % 2


def run(url: str) -> dict[str, object]:
    engine = core_db.make_engine(url)
    core_db.upgrade_schema(engine)
    with Session(engine) as db:
        org_service.load_reference_divisions(db)
        db.commit()
        cities = service.province_cities(db)
        names = [c.name for c in cities]
        areas = [f"{c.division_code or c.code}000000"[:12] for c in cities]
        items = truths()
        files, labels = catalogs(names, items, areas)
        t0 = time.perf_counter()
        for city in cities:
            raw, materials = files[city.name]
            service.import_catalog(db, actor=SYSTEM_ACTOR, city=city, source=io.BytesIO(raw),
                                   filename=f"{city.name}.csv", materials=io.BytesIO(materials),
                                   materials_filename=f"{city.name}材料.csv")
        t1 = time.perf_counter()
        result = service.align(db, actor=SYSTEM_ACTOR)
        t2 = time.perf_counter()
        found = service.compute(db)
        t3 = time.perf_counter()
        home = service.home_city(db)
        suggested = service.suggest(db, actor=SYSTEM_ACTOR, city=home, benchmark=found)
        t4 = time.perf_counter()
        db.commit()
        predicted = {(m.org_id, m.item_key): m.group_id
                     for m in db.scalars(select(AlignmentMember))}
        by_org = {c.id: n for n, c in enumerate(cities)}
        predicted = {(by_org[o], k): g for (o, k), g in predicted.items()}
    engine.dispose()
    figures: dict[str, object] = {
        "cities": len(cities), "rows": len(labels),
        "codeless_rows": sum(not r.coded for r in labels),
        "import_s": round(t1 - t0, 2), "align_s": round(t2 - t1, 2),
        "frontier_s": round(t3 - t2, 2), "suggest_s": round(t4 - t3, 2),
        "total_s": round(t4 - t0, 2), "groups": result.groups, "review": result.review,
        "suggestions": dict(Counter(suggested.counts)),
    }
    for half in (0, 1):
        subset = [r for r in labels if half_of(r.truth) == half]
        figures[f"half{half}_all"] = [round(x, 4) for x in scores(subset, predicted)]
        figures[f"half{half}_codeless"] = [round(x, 4) for x in codeless_scores(subset, predicted)]
    traps = {t.id for t in items if t.name.endswith(("变更", "注销")) and not t.base}
    trap_rows = [r for r in labels if r.truth in traps]
    by_group: dict[object, set[int]] = defaultdict(set)
    for r in labels:
        by_group[predicted.get((r.city, r.key))].add(r.truth)
    mixed = [g for g in {predicted.get((r.city, r.key)) for r in trap_rows}
             if len(by_group[g]) > 1]
    names = {t.id: t.name for t in items}
    figures["trap_groups"] = len({predicted.get((r.city, r.key)) for r in trap_rows})
    figures["trap_groups_mixed"] = [sorted(names[t] for t in by_group[g]) for g in mixed]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL admin URL: run on a fresh database")
    args = parser.parse_args()
    with core_db.scratch_database(args.postgres) as url:
        figures = run(url)
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
