from shapely.geometry import MultiPolygon, Point, Polygon

from geo.regions import hull_of_points, union_of
from geo.validate import in_thailand, to_multipolygon


def test_in_thailand_uses_lon_lat_order() -> None:
    assert in_thailand(100.5, 13.75)  # Bangkok
    assert not in_thailand(13.75, 100.5)  # swapped
    assert not in_thailand(0, 0)


def test_bowtie_is_repaired_into_a_valid_multipolygon() -> None:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    assert not bowtie.is_valid
    fixed = to_multipolygon(bowtie)
    assert isinstance(fixed, MultiPolygon)
    assert fixed.is_valid
    assert abs(fixed.area - 0.5) < 1e-9


def test_line_is_refused() -> None:
    from shapely.geometry import LineString

    try:
        to_multipolygon(LineString([(0, 0), (1, 1)]))
    except ValueError as exc:
        assert "no polygon" in str(exc)
    else:
        raise AssertionError("a line must not become a boundary")


def test_union_of_adjoining_squares_is_one_polygon() -> None:
    a = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    b = Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])
    region = union_of([a, b])
    assert region.is_valid
    assert len(region.geoms) == 1
    assert abs(region.area - 2) < 1e-9


def test_hull_of_pins_contains_every_pin_and_has_a_metric_buffer() -> None:
    pins = [Point(100.0, 14.0), Point(100.5, 14.2), Point(100.2, 14.6)]
    region = hull_of_points(pins, buffer_m=10_000)
    assert region.is_valid
    assert all(region.contains(p) for p in pins)
    # 10 km at 14°N is about 0.09° of latitude: the outline reaches that far beyond the pins.
    assert region.bounds[1] < 14.0 - 0.08
    single = hull_of_points([Point(99.0, 18.8)], buffer_m=5_000)
    assert single.contains(Point(99.0, 18.8))
