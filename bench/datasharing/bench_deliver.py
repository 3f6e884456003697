"""Benchmark: check a 1,000,000-row, 12-field delivery of shared data (数据交付).

    .venv/bin/python bench/datasharing/bench_deliver.py --rows 1000000

Writes the file once (a firm register: credit code, name, dates, amounts, a person's ID
number and mobile, a division code and free text, about 1 % of rows with a defect), then
runs each reading of it in a fresh process and prints its time, rows/s and the peak resident
memory of that process:

- ``read``: the bare read the checks stream from (``core.tabular``, every row, no checks);
- ``frictionless``: a bare read of the same file with the same library the checks use for
  types, frictionless (its row stream under a table schema of the 12 fields' types, every
  cell cast);
- ``check``: the delivery's checks (``datasharing.checks.check_rows``: types, formats by
  python-stdnum and phonenumbers, division codes, required cells, repeated keys);
- ``deliver``: the whole ``service.deliver`` into a fresh SQLite database (hash, checks,
  record), as ``tongban data deliver`` runs it.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TONGBAN_ENV", "test")

FIELDS = [("统一社会信用代码", "文本", "是", "统一社会信用代码", "是"),
          ("名称", "文本", "是", "", "否"),
          ("成立日期", "日期", "是", "", "否"),
          ("核准日期", "日期", "否", "", "否"),
          ("注册资本", "小数", "否", "", "否"),
          ("从业人数", "整数", "否", "", "否"),
          ("负责人身份证号", "文本", "否", "身份证号", "否"),
          ("联系电话", "文本", "否", "手机号", "否"),
          ("所在区划", "文本", "否", "行政区划代码", "否"),
          ("经营范围", "文本", "否", "", "否"),
          ("住所", "文本", "否", "", "否"),
          ("登记机关", "文本", "否", "", "否")]
COUNTIES = ["511902", "511903", "511921", "511922", "511923"]  # 恩阳区 (511903) since 2013
PREFIXES = ["139", "138", "158", "187", "189", "133", "150", "182"]


def write_file(path: Path, rows: int) -> None:
    from stdnum.cn import ric, uscc

    rng = random.Random(27)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f[0] for f in FIELDS])
        for n in range(rows):
            body = f"91511900MA{n:07d}"[:17]
            code = body + uscc.calc_check_digit(body + "0")
            # born in 巴中 since it became 5119 (2000): older people carry 5137 numbers
            person = f"{rng.choice(COUNTIES[:1] + COUNTIES[2:])}{rng.randint(2001, 2008)}" \
                     f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
            person += ric.calc_check_digit(person + "0")
            founded = f"20{rng.randint(0, 25):02d}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
            row = [code, f"巴中市某某商贸有限公司{n}", founded, "",
                   f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}", str(rng.randint(1, 500)),
                   person, f"{rng.choice(PREFIXES)}{rng.randint(10000000, 99999999)}",
                   rng.choice(COUNTIES) + "001", "批发和零售业", "巴中市巴州区江北大道",
                   "巴州区市场监督管理局"]
            defect = n % 97
            if defect == 1:
                row[0] = row[0][:-1] + ("0" if row[0][-1] != "0" else "1")
            elif defect == 2:
                row[2] = "2026-02-30"
            elif defect == 3:
                row[1] = ""
            elif defect == 4:
                row[7] = "12345678901"
            writer.writerow(row)


def _specs() -> list:  # type: ignore[type-arg]
    from tongban.datasharing.checks import FieldSpec
    from tongban.datasharing.enums import FieldFormat, FieldType, by_label

    types, formats = by_label(FieldType), by_label(FieldFormat)
    return [FieldSpec(name, types[kind], required == "是",  # type: ignore[arg-type]
                      formats[fmt] if fmt else FieldFormat.none,  # type: ignore[arg-type]
                      key == "是") for name, kind, required, fmt, key in FIELDS]


def run_mode(mode: str, path: Path) -> None:
    """One reading of the file in this process; prints rows, seconds, peak RSS (MiB). The
    libraries are imported before the clock starts."""
    import frictionless  # noqa: F401

    import tongban.datasharing.checks  # noqa: F401
    from tongban.core import tabular  # noqa: F401

    start = time.perf_counter()
    rows = 0
    if mode == "read":
        from tongban.core.tabular import open_table

        with path.open("rb") as handle:
            for _ in open_table(handle, filename=path.name).rows:
                rows += 1
    elif mode == "frictionless":
        from frictionless import Resource, Schema, fields

        kinds = {"文本": fields.StringField, "日期": fields.DateField,
                 "小数": fields.NumberField, "整数": fields.IntegerField}
        schema = Schema(fields=[kinds[kind](name=name) for name, kind, *_ in FIELDS])
        with Resource(str(path), schema=schema) as table:
            for row in table.row_stream:
                row.to_list()  # frictionless casts a row's cells when they are read
                rows += 1
    elif mode == "check":
        from tongban.core.tabular import open_table
        from tongban.datasharing.checks import check_rows

        with path.open("rb") as handle:
            table = open_table(handle, filename=path.name)
            found = check_rows(_specs(), table.header, table.rows)
        rows = found.rows
        print(f"# invalid {found.invalid_cells}, missing {found.missing_required}, "
              f"duplicate keys {found.duplicate_keys}, score {found.score}", file=sys.stderr)
    elif mode == "deliver":
        rows = _deliver(path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows}\t{seconds:.2f}\t{peak:.0f}")


def _deliver(path: Path) -> int:
    import io

    import tongban.metrics_registry  # noqa: F401
    from tongban.core import db as core_db
    from tongban.core.security import SYSTEM_ACTOR
    from tongban.datasharing import service
    from tongban.demo.city import load_demo
    from tongban.org.service import load_reference_divisions

    folder = Path(tempfile.mkdtemp())
    os.environ["TONGBAN_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    engine = core_db.get_engine()
    core_db.upgrade_schema(engine)
    with core_db.session_scope() as db:
        load_reference_divisions(db)
        load_demo(db)
        catalog = io.StringIO()
        writer = csv.writer(catalog)
        writer.writerows([
            ["数据集编码", "数据集名称", "提供部门", "更新频率", "共享类型", "开放类型", "重点数据"],
            ["B-1", "市场主体登记信息", "市市场监督管理局", "日", "不予共享", "开放", "是"]])
        fields = io.StringIO()
        writer = csv.writer(fields)
        writer.writerows([["数据集编码", "字段名", "类型", "必填", "格式", "主键"],
                          *[["B-1", *f] for f in FIELDS]])
        service.import_catalog(db, actor=SYSTEM_ACTOR, catalog=io.BytesIO(catalog.getvalue().encode()),
                               fields=io.BytesIO(fields.getvalue().encode()),
                               catalog_name="目录.csv", fields_name="字段.csv")
    start = time.perf_counter()
    with core_db.session_scope() as db:
        done = service.deliver(db, actor=SYSTEM_ACTOR, dataset_code="B-1", source=path)
        rows = done.check.rows
    print(f"# deliver alone {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mode", default="")
    parser.add_argument("--file", default="")
    parser.add_argument("--modes", default="read,frictionless,check,deliver")
    args = parser.parse_args()
    if args.mode:
        run_mode(args.mode, Path(args.file))
        return
    folder = Path(tempfile.mkdtemp())
    path = folder / "delivery.csv"
    began = time.perf_counter()
    write_file(path, args.rows)
    print(f"# {args.rows:,} rows × {len(FIELDS)} fields, {path.stat().st_size / 2**20:.0f} MiB, "
          f"written in {time.perf_counter() - began:.0f} s")
    print("mode\trows\tseconds\trows/s\tpeak MiB")
    for mode in args.modes.split(","):
        done = subprocess.run([sys.executable, __file__, "--mode", mode, "--file", str(path)],
                              capture_output=True, text=True, check=True)
        rows, seconds, peak = done.stdout.strip().splitlines()[-1].split("\t")
        print(f"{mode}\t{rows}\t{seconds}\t{int(rows) / float(seconds):,.0f}\t{peak}")
        for line in done.stderr.splitlines():
            if line.startswith("#"):
                print(line)
    path.unlink()


if __name__ == "__main__":
    main()
