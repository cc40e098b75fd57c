"""The reference-data loader: bad files name file, line and reason, and load nothing."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.config import PROJECT_ROOT
from pinmap.models import DataLoad, Office, PolicyDimension, PolicyItem, Province
from pinmap.services.dataload import DataFileError, fiscal_year_bounds, load, parse_data_dir

from ..support.progress_sql import bare_report


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for f in (PROJECT_ROOT / "data").glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_committed_data_is_valid_and_complete() -> None:
    data = parse_data_dir(PROJECT_ROOT / "data")
    assert len(data.offices) == 245
    kinds = [o["kind"] for o in data.offices.values()]
    assert kinds.count("primary") == 183 and kinds.count("secondary") == 62
    assert len(data.clusters) == 18
    assert len(data.provinces) == 77
    per_cluster = [sum(o["cluster_no"] == n for o in data.offices.values()) for n in range(1, 19)]
    assert per_cluster == [15, 7, 15, 9, 14, 8, 17, 10, 13, 16, 9, 18, 21, 14, 16, 14, 16, 13]
    assert {i["kind"] for i in data.items} == {"policy", "quick_win"}
    assert not any(i["verified"] for i in data.items)  # wording is unverified, and says so


def test_database_holds_the_loaded_reference_data(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(Office)) == 245
    assert session.scalar(select(func.count()).select_from(Province)) == 77
    precision = dict(
        session.execute(
            select(Office.location_precision, func.count()).group_by(Office.location_precision)
        ).all()
    )
    assert precision == {"amphoe": 241, "office": 2, "province": 2}
    assert (
        session.scalar(
            select(func.count()).select_from(PolicyItem).where(PolicyItem.fiscal_year == 2567)
        )
        == 21
    )


def test_loading_again_changes_nothing(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(DataLoad))
    versions = dict(session.execute(select(Office.code, Office.version)).all())
    summary = load(session, parse_data_dir(PROJECT_ROOT / "data"))
    assert not summary.changed
    assert session.scalar(select(func.count()).select_from(DataLoad)) == before
    assert dict(session.execute(select(Office.code, Office.version)).all()) == versions


def test_a_changed_point_updates_only_that_office(session: Session, data_dir: Path) -> None:
    _edit(data_dir / "offices.csv", "13.78008,100.51818", "13.79000,100.52000")
    summary = load(session, parse_data_dir(data_dir))
    assert summary.updated == {"offices": 1}
    lon, lat = session.execute(
        select(func.ST_X(Office.geom), func.ST_Y(Office.geom)).where(Office.code == "spp-bangkok")
    ).one()
    assert (round(lon, 5), round(lat, 5)) == (100.52, 13.79)


@pytest.mark.parametrize(
    ("file", "old", "new", "reason"),
    [
        ("offices.csv", "code,kind,", "kode,kind,", "missing column(s): code"),
        ("offices.csv", "spp-krabi,", "spp-bangkok,", "duplicate code spp-bangkok"),
        ("offices.csv", "8.14708,98.86415", "48.14708,98.86415", "outside Thailand"),
        ("offices.csv", "8.14708,98.86415", "north,98.86415", "lat/lon must be decimal degrees"),
        ("offices.csv", ",กระบี่,กระบี่,เมืองกระบี่", ",กระบี่,กระบีX,เมืองกระบี่", "unknown province กระบีX"),
        (
            "offices.csv",
            "amphoe,6,amphoe=K: เขต 1/single-area office in capital district (standard; not individually verified); coords=COD-AB 2019 ADM2 TH8101",
            "amphoe,66,amphoe=K: เขต 1/single-area office in capital district (standard; not individually verified); coords=COD-AB 2019 ADM2 TH8101",
            "unknown cluster '66'",
        ),
        ("offices.csv", "spp-krabi,primary", "spp-krabi,tertiary", "kind must be one of"),
        ("clusters.csv", "\n2,", "\n1,", "duplicate cluster_no 1"),
        ("provinces.csv", "\n11,", "\n1X,", "bad DOPA province code '1X'"),
        ("policy_items.csv", "2567,policy,2,", "2567,policy,1,", "duplicate policy 1"),
    ],
)
def test_bad_file_is_refused_with_file_line_and_reason(
    session: Session, data_dir: Path, file: str, old: str, new: str, reason: str
) -> None:
    path = data_dir / file
    expected_line = _line_of(path, old.strip("\n").split("\n")[-1]) if old != "code,kind," else 1
    _edit(path, old, new)
    before = session.scalar(select(func.count()).select_from(DataLoad))
    with pytest.raises(DataFileError) as info:
        parse_data_dir(data_dir)
    errors = info.value.errors
    match = [e for e in errors if reason in e.reason]
    assert match, [str(e) for e in errors]
    assert match[0].file == file
    if file == "offices.csv" and "duplicate" in reason:
        expected_line = _line_of(path, "spp-bangkok,primary,สพป.กระบี่")
    assert match[0].line == expected_line
    assert "nothing was loaded" in str(info.value)
    assert session.scalar(select(func.count()).select_from(DataLoad)) == before


def test_missing_file_is_named(data_dir: Path) -> None:
    (data_dir / "clusters.csv").unlink()
    with pytest.raises(DataFileError, match=r"clusters.csv:0: file not found"):
        parse_data_dir(data_dir)


def test_short_row_is_refused(data_dir: Path) -> None:
    with (data_dir / "clusters.csv").open("a", encoding="utf-8") as fh:
        fh.write("19,only-two-fields\n")
    with pytest.raises(DataFileError, match=r"clusters.csv:20: wrong number of fields"):
        parse_data_dir(data_dir)


def test_policy_catalogue_is_replaced_per_fiscal_year(session: Session, data_dir: Path) -> None:
    path = data_dir / "policy_items.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if not ln.startswith("2567,quick_win,1")]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    summary = load(session, parse_data_dir(data_dir))
    # quick_win 1 and 10, 11 start with "2567,quick_win,1": all three are dropped.
    assert summary.deleted == {"policy_items": 3}


@pytest.mark.parametrize(
    ("year_be", "starts", "ends"),
    [(2567, "2023-10-01", "2024-09-30"), (2570, "2026-10-01", "2027-09-30")],
)
def test_fiscal_year_starts_on_1_october(year_be: int, starts: str, ends: str) -> None:
    s, e = fiscal_year_bounds(year_be)
    assert (s.isoformat(), e.isoformat()) == (starts, ends)


# --- refusals that need the database, renumbering, true lines -----------------------------


def _refused(session: Session, data_dir: Path) -> DataFileError:
    """Load `data_dir` expecting a refusal; the rollback the CLI does leaves nothing behind."""
    with session.begin_nested() as nested, pytest.raises(DataFileError) as info:
        try:
            load(session, parse_data_dir(data_dir))
        finally:
            nested.rollback()
    return info.value


def _report_on(session: Session, kind: str, no: int) -> PolicyItem:
    """A progress report for spp-krabi on a FY2567 item, so that item cannot disappear."""
    item = session.scalars(select(PolicyItem).filter_by(fiscal_year=2567, kind=kind, no=no)).one()
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    session.add(bare_report(office.id, 2567, item.id, 1))
    return item


def test_removing_an_item_with_reports_is_refused_with_file_and_line(
    session: Session, data_dir: Path
) -> None:
    item = _report_on(session, "quick_win", 2)
    session.flush()
    path = data_dir / "policy_items.csv"
    first = _line_of(path, "2567,")
    _edit(
        path,
        next(
            ln
            for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.startswith("2567,quick_win,2,")
        )
        + "\n",
        "",
    )
    err = _refused(session, data_dir)
    assert [(e.file, e.line) for e in err.errors] == [("policy_items.csv", first)]
    assert "quick_win 2" in err.errors[0].reason and "progress reports" in err.errors[0].reason
    assert "nothing was loaded" in str(err)
    assert session.get(PolicyItem, item.id) is not None


def test_swapping_dimension_numbers_renumbers_them(session: Session, data_dir: Path) -> None:
    path = data_dir / "policy_items.csv"
    _edit(path, "2567,dimension,1,ด้านความปลอดภัย", "2567,dimension,2,ด้านความปลอดภัย")
    _edit(path, "2567,dimension,2,ด้านโอกาส", "2567,dimension,1,ด้านโอกาส")
    summary = load(session, parse_data_dir(data_dir))
    assert summary.updated == {"policy_dimensions": 2}
    numbers = dict(
        session.execute(
            select(PolicyDimension.key, PolicyDimension.no).filter_by(fiscal_year=2567)
        ).all()
    )
    assert (numbers["ความปลอดภัย"], numbers["โอกาส"]) == (2, 1)
    policy_1 = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=1)
    ).one()
    assert policy_1.dimension.key == "ความปลอดภัย" and policy_1.dimension.no == 2


# Inside Thailand's bounding box, but in Myanmar (Mawlamyine): no Thai province holds it.
MYANMAR = "16.49000,97.63000"


def test_point_in_no_province_is_refused_once_boundaries_exist(
    session: Session, data_dir: Path, province_file: Path
) -> None:
    from geo.boundaries import read_boundaries
    from pinmap.services.boundaries import import_boundaries

    path = data_dir / "offices.csv"
    line = _line_of(path, "8.14708,98.86415")
    _edit(path, "8.14708,98.86415", MYANMAR)
    parsed = parse_data_dir(data_dir)  # the bounding box alone lets it through
    with session.begin_nested() as nested:
        load(session, parsed)  # before `boundaries import` (a fresh database) it loads
        nested.rollback()
    import_boundaries(
        session,
        read_boundaries(province_file, "province"),
        "province",
        source_name=province_file.name,
        sha256="x" * 64,
    )
    err = _refused(session, data_dir)
    assert [(e.file, e.line) for e in err.errors] == [("offices.csv", line)]
    assert "outside Thailand" in err.errors[0].reason
    # The shipped points all lie in a province.
    assert not load(session, parse_data_dir(PROJECT_ROOT / "data")).changed


def test_office_in_another_cluster_than_its_province_is_refused(data_dir: Path) -> None:
    path = data_dir / "offices.csv"
    old = (
        "amphoe,6,amphoe=K: เขต 1/single-area office in capital district (standard; "
        "not individually verified); coords=COD-AB 2019 ADM2 TH8101"
    )
    line = _line_of(path, old)
    _edit(path, old, old.replace("amphoe,6,", "amphoe,2,"))
    with pytest.raises(DataFileError) as info:
        parse_data_dir(data_dir)
    [error] = info.value.errors
    assert (error.file, error.line) == ("offices.csv", line)
    assert "cluster_no 2 differs from cluster 6 of กระบี่" in error.reason
    assert f"provinces.csv:{_line_of(data_dir / 'provinces.csv', '81,กระบี่')}" in error.reason


def test_a_covered_province_may_lie_in_another_cluster() -> None:
    # spm-uthaithani-chainat sits in Uthai Thani (cluster 18) and also covers Chai Nat (2).
    data = parse_data_dir(PROJECT_ROOT / "data")
    office = data.offices["spm-uthaithani-chainat"]
    clusters = {data.provinces[c]["cluster_no"] for c in office["province_codes"]}  # type: ignore[attr-defined]
    assert office["cluster_no"] == 18 and clusters == {"18", "2"}


def test_undecodable_byte_is_reported_on_its_own_line(data_dir: Path) -> None:
    # A 246th office appended at line 247, with a byte that is not UTF-8 in its Thai name: a
    # buffered decoder used to fail a whole buffer early and blame line 234.
    path = data_dir / "offices.csv"
    raw = path.read_bytes()
    assert raw.count(b"\n") == 246 and raw.endswith(b"\n")
    last = raw.rstrip(b"\n").rsplit(b"\n", 1)[1]
    path.write_bytes(
        raw + last.replace(b"spm-", b"spm-x", 1).replace("สพม.".encode(), b"\xff", 1) + b"\n"
    )
    with pytest.raises(DataFileError) as info:
        parse_data_dir(data_dir)
    assert [(e.file, e.line) for e in info.value.errors] == [("offices.csv", 247)]
    assert "0xff" in info.value.errors[0].reason


def test_a_reload_keeps_what_people_changed_in_the_app(session: Session, data_dir: Path) -> None:
    from geoalchemy2.shape import from_shape, to_shape
    from shapely.geometry import Point

    from pinmap.models import ClusterMove, WorkflowReport, WorkflowRevision

    krabi = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    bangkok = session.scalars(select(Office).filter_by(code="spp-bangkok")).one()
    moved_to = Point(98.9123, 8.0612)
    # An approved profile placed Krabi's pin; Bangkok was moved to another cluster.
    report = WorkflowReport(kind="profile", office_id=krabi.id, fiscal_year=0, subject="profile")
    session.add(report)
    session.flush()
    approved = WorkflowRevision(
        report_id=report.id,
        revision_no=1,
        state="approved",
        level=2,
        data={"location": [moved_to.x, moved_to.y]},
    )
    session.add(approved)
    session.flush()
    report.current_revision_id = report.approved_revision_id = approved.id
    krabi.geom, krabi.location_precision = from_shape(moved_to, srid=4326), "office"
    old_cluster = bangkok.cluster_no
    session.add(ClusterMove(office_id=bangkok.id, from_cluster=old_cluster, to_cluster=2))
    bangkok.cluster_no = 2
    session.flush()
    summary = load(session, parse_data_dir(data_dir))
    assert sorted(summary.kept_app_changes) == ["spp-bangkok", "spp-krabi"]
    session.refresh(krabi)
    session.refresh(bangkok)
    assert to_shape(krabi.geom).equals_exact(moved_to, 1e-9)
    assert krabi.location_precision == "office" and bangkok.cluster_no == 2
    # Other fields still follow the file.
    _edit(data_dir / "offices.csv", "สพป.กระบี่,", "สพป.กระบี่ (ทดสอบ),")
    load(session, parse_data_dir(data_dir))
    session.refresh(krabi)
    assert krabi.name_th == "สพป.กระบี่ (ทดสอบ)"


def test_cli_reports_a_database_check_as_file_and_line(
    app, data_dir: Path, session: Session
) -> None:  # type: ignore[no-untyped-def]
    _report_on(session, "quick_win", 1)
    session.commit()
    path = data_dir / "policy_items.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(
        "".join(x for x in lines if not x.startswith("2567,quick_win,1,")), encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(args=["data", "load", "--data-dir", str(data_dir)])
    assert result.exit_code != 0
    assert "policy_items.csv:" in result.output and "nothing was loaded" in result.output
    assert "Traceback" not in result.output
