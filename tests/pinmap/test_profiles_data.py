"""School and result imports (all or nothing, row and column named), charts, best practices, exports."""

from __future__ import annotations

import csv
import io
import json

from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.charts import Line, line_chart
from pinmap.models import BestPractice, ResultRecord, School
from pinmap.services.exports import OFFICE_COLUMNS, RESULT_COLUMNS

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import (
    RESULTS_OK,
    SCHOOLS_OK,
    _upload,
    approve_current,
    krabi_point,
    profile_form,
    profile_version,
    save_profile,
    staged_codes,
    wired,
)

__all__ = ["wired"]  # the autouse fixture that registers the blueprints


def _rows(html: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r"<tr><td>(\d+)</td><td><code>([a-z_]+)</code></td>", html)


def test_schools_import_counts_and_bad_rows_change_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    url = "/portal/offices/spp-krabi/schools"
    r = _upload(
        client,
        url + "/import",
        "schools.csv",
        SCHOOLS_OK.encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302
    # Staged in the profile revision; the public list waits for the profile's approval.
    assert staged_codes(session) == ["1081010001", "1081010002"]
    assert session.scalar(select(func.count()).select_from(School)) == 0
    version = profile_version(session)
    bad = (
        "code,name_th,amphoe_th,level,lat,lon\n"
        "1081010001,โรงเรียนบ้านทดสอบ,เมืองกระบี่,ประถมศึกษา,8.07,98.91\n"
        "1081010003,,เมือง,,8.1,98.9\n"  # row 3: name missing
        "1081010004,โรงเรียนสาม,เมือง,,north,98.9\n"  # row 4: lat not a number
        "1081010001,ซ้ำ,เมือง,,,\n"  # row 5: duplicate code
        "1081010005,โรงเรียนญี่ปุ่น,,,35.6,139.7\n"
    )  # row 6: outside Thailand
    r = _upload(
        client, url + "/import", "schools-bad.csv", bad.encode(), action="import", version=version
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "schools-bad.csv was not loaded" in html
    assert {("3", "name_th"), ("4", "lat"), ("5", "code"), ("6", "lat")} <= set(_rows(html))
    assert staged_codes(session) == ["1081010001", "1081010002"]  # unchanged
    assert profile_version(session) == version
    r = _upload(
        client,
        url + "/import",
        "schools.csv",
        b"code,name,lat\n1,x,1\n",
        action="import",
        version=version,
    )
    assert r.status_code == 400 and ("1", "name_th") in _rows(r.get_data(as_text=True))


def test_schools_import_from_xlsx_replaces_the_list(
    client: FlaskClient, world: World, session: Session
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name_th", "amphoe_th", "level"])
    sheet.append([1081010009, "โรงเรียนจากเอ็กเซล", "คลองท่อม", "มัธยม"])
    buf = io.BytesIO()
    book.save(buf)
    sign_in(client, world.users["own_director"], lang="en")
    r = _upload(
        client,
        "/portal/offices/spp-krabi/schools/import",
        "list.xlsx",
        buf.getvalue(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302
    assert staged_codes(session) == ["1081010009"]
    r = _upload(
        client,
        "/portal/offices/spp-krabi/schools/import",
        "list.xlsx",
        b"not a zip",
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 400 and "not an XLSX" in r.get_data(as_text=True)


def test_counts_are_saved_with_date_and_source(
    client: FlaskClient, world: World, session: Session
) -> None:

    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    assert save_profile(client, profile_form(lon, lat)).status_code == 302
    url = "/portal/offices/spp-krabi/schools"
    r = client.post(
        url + "/counts",
        data={
            "action": "stats",
            "as_of": "2024-06-10",
            "teachers": "lots",
            "students": "12000",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 400 and 'value="lots"' in r.get_data(as_text=True)
    r = client.post(
        url + "/counts",
        data={
            "action": "stats",
            "as_of": "2024-06-10",
            "teachers": "900",
            "students": "12,000",
            "staff": "80",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 302
    # Public once the profile holding them is approved (test_profiles_staged.py has the rest).
    approve_current(client, world, session)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "12,000" in html and "manual" in html


def test_results_import_is_all_or_nothing_and_charted(
    client: FlaskClient, world: World, session: Session
) -> None:
    bad = RESULTS_OK + (
        "spp-nowhere,2563,policy,x,1,,,\n"  # row 5: office
        "spp-krabi,2550,policy,x,1,,,\n"  # row 6: year
        "spp-krabi,2563,sports,x,1,,,\n"  # row 7: category
        "spp-krabi,2564,policy,y,abc,,,\n"
    )  # row 8: value
    sign_in(client, world.users["admin"], lang="en")
    r = _upload(client, "/portal/results", "results.csv", bad.encode())
    assert r.status_code == 400
    assert {("5", "office_code"), ("6", "fiscal_year"), ("7", "category"), ("8", "value")} <= set(
        _rows(r.get_data(as_text=True))
    )
    assert session.scalar(select(func.count()).select_from(ResultRecord)) == 0
    # Results are OBEC's: office staff may not load them, not even their own office's rows.
    sign_in(client, world.users["own_editor"], lang="en")
    r = _upload(client, "/portal/offices/spp-krabi/results", "results.csv", RESULTS_OK.encode())
    assert r.status_code == 403
    # An import on one office's page loads that office's rows only.
    sign_in(client, world.users["admin"], lang="en")
    r = _upload(client, "/portal/offices/spp-krabi/results", "results.csv", RESULTS_OK.encode())
    assert r.status_code == 400 and ("4", "office_code") in _rows(r.get_data(as_text=True))
    sign_in(client, world.users["admin"], lang="en")
    r = _upload(client, "/portal/results", "results.csv", RESULTS_OK.encode())
    assert r.status_code == 302
    assert session.scalar(select(func.count()).select_from(ResultRecord)) == 3
    sign_out(client)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert 'role="img"' in html and '<title id="chart-1-t">' in html
    assert "<b>ภาษาไทย</b>" not in html and "&lt;b&gt;ภาษาไทย&lt;/b&gt;" in html
    assert "48.25" in html and '<th scope="row">2563</th>' in html  # the table of numbers


def test_chart_escapes_labels() -> None:
    svg = str(
        line_chart("c1", "<script>t</script>", ["2562", "<x>"], [Line("<img src=x>", [1.0, None])])
    )
    assert "<script>" not in svg and "<img" not in svg and "&lt;img src=x&gt;" in svg
    assert svg.startswith("<svg") and 'role="img"' in svg


def test_best_practice_workflow_search_and_map_api(
    client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    form = {
        "title": "ห้องเรียนคุณภาพ",
        "owner": "กลุ่มนิเทศ",
        "fiscal_year": str(world.fy),
        "dimensions": ["คุณภาพ"],
        "item_ids": [str(world.item.id)],
        "background": "<p>ที่มา</p><script>x</script>",
        "objectives": "วัตถุประสงค์",
        "process": "<ol><li>ขั้นตอน</li></ol>",
        "results": "ผล",
        "success_factors": "ปัจจัย",
        "version": "0",
        "action": "save",
    }
    r = client.post("/portal/offices/spp-krabi/best-practices/new", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    bp = session.scalars(select(BestPractice)).one()
    assert "<script>" not in bp.background and bp.dimensions == ["คุณภาพ"]
    api = f"/api/v1/best-practices/offices?fiscal_year={world.fy}&item_kind=policy&item_no=1"
    assert client.get(api).get_json()["offices"] == []
    assert client.get(f"/best-practices/{bp.id}").status_code == 200  # own staff may read
    sign_out(client)
    assert client.get(f"/best-practices/{bp.id}").status_code == 404
    sign_in(client, world.users["other_editor"], lang="en")
    r = client.post(f"/portal/offices/spp-krabi/best-practices/{bp.id}", data=form)
    assert r.status_code == 403
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        f"/portal/offices/spp-krabi/best-practices/{bp.id}/submit",
        data={**form, "version": str(bp.version), "action": "submit"},
    )
    assert r.status_code == 302
    session.expire_all()  # the practice's working revision moved on (its version)
    sign_in(client, world.users["reviewer"], lang="en")
    r = client.post(
        f"/review/best-practices/{bp.id}", data={"decision": "return", "version": str(bp.version)}
    )
    assert r.status_code == 400  # a comment is required to return
    r = client.post(
        f"/review/best-practices/{bp.id}", data={"decision": "approve", "version": str(bp.version)}
    )
    assert r.status_code == 302
    sign_out(client)
    assert client.get(api).get_json()["offices"] == ["spp-krabi"]
    other = f"/api/v1/best-practices/offices?fiscal_year={world.fy}&item_kind=quick_win&item_no=1"
    assert client.get(other).get_json()["offices"] == []
    found = client.get(
        f"/best-practices?q=คุณภาพ&item={world.item.id}&dimension=คุณภาพ&cluster="
    ).get_data(as_text=True)
    assert "ห้องเรียนคุณภาพ" in found
    assert "ห้องเรียนคุณภาพ" not in client.get("/best-practices?q=ไม่มีทาง").get_data(as_text=True)
    assert "ห้องเรียนคุณภาพ" in client.get("/offices/spp-krabi").get_data(as_text=True)


def test_exports_open_with_the_right_columns_and_no_formulas(
    client: FlaskClient, world: World, session: Session
) -> None:

    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    assert (
        save_profile(
            client,
            profile_form(
                lon,
                lat,
                address='=HYPERLINK("http://evil","x")',
                p0_name="@SUM(1+1)",
            ),
        ).status_code
        == 302
    )
    approve_current(client, world, session)
    sign_in(client, world.users["admin"], lang="en")
    _upload(client, "/portal/results", "results.csv", RESULTS_OK.replace("45.5", "-3").encode())
    sign_out(client)
    r = client.get("/exports/offices.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(rows[0].keys()) == OFFICE_COLUMNS and len(rows) == 245
    krabi = next(row for row in rows if row["code"] == "spp-krabi")
    assert krabi["address"].startswith("'=HYPERLINK") and krabi["director_name"] == "'@SUM(1+1)"
    book = load_workbook(io.BytesIO(client.get("/exports/offices.xlsx").data), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert sheet_rows[0] == OFFICE_COLUMNS and len(sheet_rows) == 246
    cell = sheet_rows[1 + [r[0] for r in sheet_rows[1:]].index("spp-krabi")]
    assert cell[OFFICE_COLUMNS.index("address")].startswith("'=")
    geo = json.loads(client.get("/exports/offices.geojson").data)
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 245
    feat = next(f for f in geo["features"] if f["id"] == "spp-krabi")
    assert feat["geometry"]["type"] == "Point" and "address" in feat["properties"]
    results = list(
        csv.reader(
            io.StringIO(client.get("/exports/results.csv").get_data(as_text=True).lstrip("\ufeff"))
        )
    )
    assert tuple(results[0]) == RESULT_COLUMNS and len(results) == 4
    assert "-3.0" in [row[4] for row in results[1:]]  # numbers stay numbers
    book = load_workbook(io.BytesIO(client.get("/exports/results.xlsx").data), read_only=True)
    values = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert values[0] == RESULT_COLUMNS and -3.0 in [v[4] for v in values[1:]]
