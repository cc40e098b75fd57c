"""Rules of the test suite's own layout: what several test modules share lives in
tests/support/, so no test module imports another (each can be run, moved or deleted alone)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported(source: str, place: Path) -> list[str]:
    """Dotted names of the modules (and names) that `source`, sitting at `place`, imports."""
    package = place.parent.relative_to(TESTS.parent).parts
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            found.append(".".join(module))
            # `from . import test_x` names the module in the alias.
            found += [".".join([*module, alias.name]) for alias in node.names]
    return found


def _test_modules(names: list[str]) -> list[str]:
    return sorted(
        n for n in names if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")
    )


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(TESTS.parent)): _test_modules(
            _imported(path.read_text(encoding="utf-8"), path)
        )
        for path in TESTS.rglob("*.py")
        if "fixtures" not in path.relative_to(TESTS).parts
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rule_sees_every_form_of_import() -> None:
    place = TESTS / "browser" / "test_example_e2e.py"
    for line in (
        "from ..pinmap.test_help import pdf_bytes",
        "from .test_map_e2e import COUNT_JS",
        "from . import test_map_e2e",
        "import tests.pinmap.test_projects",
        "from tests.pinmap.test_projects import actor",
    ):
        assert _test_modules(_imported(line, place)), line
    assert _test_modules(_imported("from ..support.sample_files import pdf_bytes", place)) == []
