"""The national map page keeps its data and rendered map per public-data generation
(pinmap.public.map_page): reused while nothing changes, rebuilt after any change, from any
process, and never kept without a generation to check it against."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pinmap.localdb import Cluster
from pinmap.public.map_page import PageCache

from ..support.apiservers import World, servers_world
from ..support.httpget import get
from ..support.waits import until

MAP_SCRIPT = re.compile(r"PinMap\.init\(.*?\}\);", re.S)


@pytest.fixture(scope="module")
def world(pg_cluster: Cluster) -> Iterator[World]:
    with servers_world(pg_cluster, "pinmap_map_page_cache") as built:
        yield built


def _map_script(base: str, path: str = "/") -> str:
    found = MAP_SCRIPT.search(get(base, path).body.decode())
    assert found, "the page starts PinMap"
    return found.group(0)


def test_the_map_is_reused_until_the_data_change_anywhere(world: World) -> None:
    world.a.listening()
    first = _map_script(world.a.base)
    # folium names its layers at random: the same names mean the same rendered map.
    assert _map_script(world.a.base) == first
    assert _map_script(world.plain.base) != _map_script(world.plain.base)
    # Other languages and addresses are kept apart.
    assert _map_script(world.a.base, "/?lang=en") != first
    world.write("UPDATE offices SET name_th = name_th || ' (แก้ไข)' WHERE code = 'spp-krabi'")
    assert until(lambda: "(แก้ไข)" in _map_script(world.a.base)), "stale map after a change"
    assert "(แก้ไข)" in _map_script(world.plain.base)
    # The map page's data are its own: the renamed office is still in the name order.
    script = _map_script(world.a.base)
    assert '"offices_sorted":true' in script


def test_the_page_cache_checks_generations_and_is_bounded() -> None:
    cache = PageCache()
    cache.put("a", 1, "built under 1")
    assert cache.get("a", 1) == "built under 1"
    assert cache.get("a", 2) is None
    for n in range(PageCache.MAX_ENTRIES + 5):
        cache.put(n, 2, n)
    assert cache.get(0, 2) is None
    assert cache.get(PageCache.MAX_ENTRIES + 4, 2) == PageCache.MAX_ENTRIES + 4
