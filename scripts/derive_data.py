"""Regenerates data/*.csv from the facts in ../shared/reference (run by hand, not at setup).

Only facts are taken: office names, kinds, provinces and map points; cluster membership; policy
item wording; province names and DOPA codes (attributes only, never geometry).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
OUT = ROOT / "data"


def read(name: str) -> list[dict[str, str]]:
    with (REF / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(name: str, fields: list[str], rows: list[dict[str, object]]) -> None:
    with (OUT / name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    adm1 = json.loads((REF / "boundaries" / "mapthai_th_adm1.geojson").read_text(encoding="utf-8"))
    clusters = read("clusters.csv")
    cluster_of = {p: c["cluster_no"] for c in clusters for p in c["provinces_th"].split("|")}
    provinces = sorted(
        (
            {
                "code": f["properties"]["ADM1_PCODE"].removeprefix("TH"),
                "name_th": f["properties"]["ADM1_TH"],
                "name_en": f["properties"]["ADM1_EN"],
                "cluster_no": cluster_of[f["properties"]["ADM1_TH"]],
            }
            for f in adm1["features"]
        ),
        key=lambda r: r["code"],
    )
    write("provinces.csv", ["code", "name_th", "name_en", "cluster_no"], provinces)
    write(
        "clusters.csv",
        ["cluster_no", "name_th", "name_en"],
        [{k: c[k] for k in ("cluster_no", "name_th", "name_en")} for c in clusters],
    )

    offices = read("esa_offices.csv")
    fields = [
        "code",
        "kind",
        "name_th",
        "name_full_th",
        "name_en",
        "provinces_th",
        "office_province_th",
        "office_amphoe_th",
        "lat",
        "lon",
        "location_precision",
        "cluster_no",
        "source_note",
    ]
    for o in offices:
        # An office belongs to the cluster of the province its building is in (reference README).
        o["cluster_no"] = cluster_of[o["office_province_th"]]
    write("offices.csv", fields, [{k: o[k] for k in fields} for o in offices])

    items = read("policy_items.csv")
    rows = []
    for it in items:
        note = it["source_note"]
        rows.append(
            {
                "fiscal_year": 2567,
                "kind": it["kind"],
                "no": it["no"],
                "title_th": it["title_th"],
                "title_en": it["title_en"],
                "dimension": it["dimension"],
                "verified": "no" if note.startswith(("UNVERIFIED", "PLACEHOLDER")) else "yes",
                "source_note": note,
            }
        )
    write(
        "policy_items.csv",
        [
            "fiscal_year",
            "kind",
            "no",
            "title_th",
            "title_en",
            "dimension",
            "verified",
            "source_note",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
