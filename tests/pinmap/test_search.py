"""Office search (pinmap/services/search.py): each form people type, on the committed data."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pinmap.services import search as svc


def codes(session: Session, q: str, **filters: object) -> list[str]:
    return [h.code for h in svc.search(session, q, **filters)]  # type: ignore[arg-type]


def test_normalise_reads_thai_digits_dots_spaces_and_sara_am() -> None:
    assert svc.normalise("สพป.เชียงใหม่  เขต ๒") == "สพป เชียงใหม่ เขต 2"
    assert svc.normalise("เชียงใหม่2") == "เชียงใหม่ 2"
    assert svc.normalise("SPP-ChiangMai-2") == "spp chiangmai 2"
    # Sara am typed as one character or as nikhahit + sara aa; a zero-width space pasted in.
    assert svc.normalise("อำนาจ") == svc.normalise("อํานาจ")
    assert svc.normalise("เชียง\u200bใหม่") == "เชียงใหม่"
    assert svc.normalise("กรุงเทพฯ") == "กรุงเทพ"


@pytest.mark.parametrize(
    ("raw", "words", "area", "numbers"),
    [
        ("เชียงใหม่ 2", ("เชียงใหม่",), 2, ()),
        ("เชียงใหม่2", ("เชียงใหม่",), 2, ()),
        ("เขต 2 เชียงใหม่", ("เชียงใหม่",), 2, ()),
        ("เชียงใหม่เขต2", ("เชียงใหม่",), 2, ()),
        ("เชียงใหม่ เขตที่ 2", ("เชียงใหม่",), 2, ()),
        ("chiang mai district 2", ("chiangmai",), 2, ()),
        ("Chiang Mai area2", ("chiangmai",), 2, ()),
        ("สพปเชียงใหม่ 2", ("สพป", "เชียงใหม่"), 2, ()),
        ("จ.เชียงใหม่", ("เชียงใหม่",), None, ()),
        ("50", (), None, ("50",)),
        ("50100", (), None, ("50100",)),
    ],
)
def test_parse(raw: str, words: tuple[str, ...], area: int | None, numbers: tuple) -> None:
    q = svc.parse(raw, frozenset({"chiangmai", "เชียงใหม่"}))
    assert (q.words, q.area, q.numbers) == (words, area, numbers)


@pytest.mark.parametrize(
    "q",
    [
        "เชียงใหม่ 2",
        "เชียงใหม่2",
        "เชียงใหม่ เขต 2",
        "เชียงใหม่เขต2",
        "เขต 2 เชียงใหม่",
        "เขต2 เชียงใหม่",
        "สพป.เชียงใหม่ เขต 2",
        "สพป เชียงใหม่ เขต ๒",
        "chiang mai 2",
        "Chiang Mai district 2",
        "chiangmai district2",
        "spp-chiangmai-2",
        "SPP-CHIANGMAI-2",
        "Chiang Mai Primary Educational Service Area Office 2",
        "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเชียงใหม่ เขต 2",
    ],
)
def test_chiang_mai_2_however_typed(session: Session, q: str) -> None:
    assert codes(session, q)[0] == "spp-chiangmai-2"
    assert len(codes(session, q)) == 1


def test_exact_code_and_name_first(session: Session) -> None:
    hits = svc.search(session, "spp-krabi")
    assert hits[0].code == "spp-krabi" and hits[0].tier == 0
    hits = svc.search(session, "สพม.ตรัง กระบี่")
    assert hits[0].code == "spm-trang-krabi" and hits[0].tier == 1


def test_province_names_rank_own_province_offices_first(session: Session) -> None:
    found = codes(session, "เชียงใหม่")
    assert len(found) == 7
    assert set(found[:7]) == {*(f"spp-chiangmai-{n}" for n in range(1, 7)), "spm-chiangmai"}
    # Covered-only provinces come after the offices that sit in the province.
    found = codes(session, "ตราด")
    assert found[:2] == ["spp-trat", "spm-chanthaburi-trat"]
    assert codes(session, "lamphun")[:2] == ["spp-lamphun-1", "spp-lamphun-2"]
    assert "spm-lampang-lamphun" in codes(session, "lamphun")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("กทม", {"spp-bangkok", "spm-bangkok-1", "spm-bangkok-2"}),
        ("กทม.", {"spp-bangkok", "spm-bangkok-1", "spm-bangkok-2"}),
        ("กรุงเทพฯ", {"spp-bangkok", "spm-bangkok-1", "spm-bangkok-2"}),
        ("Bangkok", {"spp-bangkok", "spm-bangkok-1", "spm-bangkok-2"}),
        ("bkk", {"spp-bangkok", "spm-bangkok-1", "spm-bangkok-2"}),
        ("กทม เขต 2", {"spm-bangkok-2"}),
        ("โคราช", None),
        ("Korat", None),
    ],
)
def test_short_forms(session: Session, q: str, expected: set[str] | None) -> None:
    found = codes(session, q)
    if expected is None:
        assert found and all("nakhonratchasima" in c for c in found)
        assert set(found) == set(codes(session, "นครราชสีมา"))
    else:
        assert set(found) == expected


def test_short_form_with_area(session: Session) -> None:
    assert codes(session, "โคราช 3") == ["spp-nakhonratchasima-3"]
    assert codes(session, "อุบล 1")[0] == "spp-ubonratchathani-1"


def test_amphoe_names(session: Session) -> None:
    # The office of Kanchanaburi area 2 sits in amphoe Tha Maka.
    assert codes(session, "ท่ามะกา") == ["spp-kanchanaburi-2"]
    assert codes(session, "อ.ท่ามะกา") == ["spp-kanchanaburi-2"]
    assert codes(session, "อำเภอท่ามะกา") == ["spp-kanchanaburi-2"]


def test_numbers_province_code_postcode_and_area(session: Session) -> None:
    # A two-digit number alone is a DOPA province code: 50 is Chiang Mai.
    assert set(codes(session, "50")) == set(codes(session, "เชียงใหม่"))
    # A postcode (or its start): the first two digits name the province.
    assert set(codes(session, "50100")) == set(codes(session, "เชียงใหม่"))
    assert set(codes(session, "502")) == set(codes(session, "เชียงใหม่"))
    # 11xxx is Nonthaburi by post (DOPA 12); 10xxx both Bangkok and Samut Prakan.
    assert set(codes(session, "11000")) == set(codes(session, "นนทบุรี"))
    assert {"spp-samutprakan-1", "spp-bangkok"} <= set(codes(session, "10270"))
    # A one-digit number alone: that area in every province.
    twos = codes(session, "2")
    assert "spp-chiangmai-2" in twos and "spm-bangkok-2" in twos
    assert all(c.endswith("-2") for c in twos)
    assert set(codes(session, "เชียงใหม่ 50100")) == set(codes(session, "เชียงใหม่"))
    assert codes(session, "1234567") == []


def test_kind_words(session: Session) -> None:
    assert codes(session, "สพม เชียงใหม่") == ["spm-chiangmai"]
    assert codes(session, "secondary chiang mai") == ["spm-chiangmai"]
    assert len(codes(session, "สพม")) == 62
    assert len(codes(session, "spp")) == 183


def test_filters_combine_with_the_query(session: Session) -> None:
    assert len(codes(session, "", cluster_no=13)) == 21
    assert codes(session, "เชียงใหม่", kind="secondary") == ["spm-chiangmai"]
    assert codes(session, "เชียงใหม่", cluster_no=1) == []
    assert set(codes(session, "", province_code="51")) >= {"spm-lampang-lamphun"}


def test_nothing_and_nonsense(session: Session) -> None:
    assert len(codes(session, "")) == 245
    assert len(codes(session, "   ")) == 245
    assert codes(session, "zzz") == []
    assert codes(session, "%_") == []
    assert codes(session, "เขต 99") == []


def test_aliases_file_names_real_provinces(session: Session) -> None:
    from pinmap.models import Province

    known = {p.code for p in session.query(Province)}
    aliases = svc.load_aliases()
    assert set(aliases) == known  # every province has its postcode prefix
    assert all(len(a["postal"]) == 1 for a in aliases.values())


# --- the API ------------------------------------------------------------------------------


def test_api_search_ranks_and_pages(client: FlaskClient) -> None:
    r = client.get("/api/v1/search", query_string={"q": "เชียงใหม่2"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1 and body["codes"] == ["spp-chiangmai-2"]
    first = body["results"][0]
    assert first["name_th"] == "สพป.เชียงใหม่ เขต 2" and first["rank"] == 1
    assert first["province_en"] == "Chiang Mai" and first["matched"] == "province"
    body = client.get("/api/v1/search?per_page=20&page=2").get_json()
    assert (body["total"], body["pages"], len(body["codes"])) == (245, 13, 245)
    assert [h["rank"] for h in body["results"]] == list(range(21, 41))
    assert [h["code"] for h in body["results"]] == body["codes"][20:40]
    body = client.get("/api/v1/search?page=13&per_page=20").get_json()
    assert len(body["results"]) == 5
    assert client.get("/api/v1/search?page=14&per_page=20").get_json()["results"] == []
    body = client.get("/api/v1/search", query_string={"q": "กทม", "kind": "secondary"}).get_json()
    assert body["codes"] == ["spm-bangkok-1", "spm-bangkok-2"]
    body = client.get("/api/v1/search?q=50&cluster=15").get_json()
    assert body["total"] == 7


def test_api_offices_q_reads_the_query_like_the_search(client: FlaskClient) -> None:
    for q, n in (("เชียงใหม่ 2", 1), ("chiang mai 2", 1), ("กทม", 3), ("50", 7), ("โคราช", 8)):
        fc = client.get("/api/v1/offices", query_string={"q": q}).get_json(force=True)
        assert len(fc["features"]) == n, q


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"q": "ก" * 101}, "q"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"cluster": "abc"}, "cluster"),
        ({"province": "5"}, "province"),
        ({"kind": "tertiary"}, "kind"),
    ],
)
def test_api_search_bad_input_is_a_400_in_the_readers_language(
    client: FlaskClient, query: dict[str, str], name: str
) -> None:
    r = client.get("/api/v1/search", query_string=query, headers={"Accept-Language": "th"})
    assert r.status_code == 400
    body = r.get_json()
    assert name in body["message"] and name in body["errors"]["query"]
    assert body["message"].startswith("พารามิเตอร์")
    r = client.get("/api/v1/search", query_string=query, headers={"Accept-Language": "en"})
    assert r.get_json()["message"] == f"Invalid parameter(s): {name}"


def test_api_search_is_in_the_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/search"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["q"]["schema"]["maxLength"] == 100
    assert params["per_page"]["schema"]["maximum"] == 100
    assert "400" in op["responses"]


def test_a_changed_office_is_found_by_its_new_name(session: Session) -> None:
    from pinmap.models import Office

    assert codes(session, "ชื่อทดสอบใหม่") == []  # builds and keeps this process's entries
    office = session.query(Office).filter_by(code="spp-krabi").one()
    office.name_th = "สพป.ชื่อทดสอบใหม่"
    session.flush()
    assert codes(session, "ชื่อทดสอบใหม่") == ["spp-krabi"]


def test_english_amphoe_names_once_amphoe_boundaries_are_imported(session: Session) -> None:
    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, box

    from pinmap.models import Amphoe, BoundaryImport

    assert codes(session, "Tha Maka") == []
    source = BoundaryImport(
        level="amphoe",
        source_name="test",
        sha256="0" * 64,
        feature_count=1,
        repaired_count=0,
        simplify_tolerance_deg=0.0,
    )
    session.add(source)
    session.flush()
    square = from_shape(MultiPolygon([box(99.7, 13.9, 99.8, 14.0)]), srid=4326)
    session.add(
        Amphoe(
            code="7105",
            province_code="71",
            name_th="ท่ามะกา",
            name_en="Tha Maka",
            geom=square,
            geom_web=square,
            boundary_import_id=source.id,
        )
    )
    session.flush()
    assert codes(session, "Tha Maka") == ["spp-kanchanaburi-2"]
    assert codes(session, "thamaka") == ["spp-kanchanaburi-2"]
