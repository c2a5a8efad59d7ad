"""The architecture's rules, checked on the source: layers, and who touches which data.

* **Layers.** A package imports only from packages below it (`LAYERS`); `api` is the
  composition root and may import them all; `simulations` never imports `api`.
* **Tables.** Each table belongs to the package whose module maps it (`__tablename__`). A module
  builds queries only over its own package's tables: no `select(OtherPackagesModel)`, no
  `OtherPackagesModel.column` in a query, no other package's table named in SQL text. Holding
  another package's row object (an `Order` handed in) is fine; querying its table is not.
  `api` is the exception by design: its routers and adapters are where packages meet.
* **Redis keys.** Each key family (`{prefix}tracking:...`, `{prefix}handoff:...`) is spelled
  only inside the package that owns it; the others ask that package.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Lower layers first; a package may import from strictly lower layers only.
LAYERS = {"geodata": 0, "routing": 1, "tracking": 1, "dispatch": 2, "custody": 3, "tickets": 4,
          "simulations": 4, "api": 5}
PACKAGES = tuple(LAYERS)
#: Redis key families and their owners (the text after `{prefix}`).
KEY_OWNERS = {"tracking:": "tracking", "handoff:": "custody"}
SQL_TABLE = re.compile(r"\b(?:from|join|into|update|table)\s+([a-z_]+)\b", re.IGNORECASE)


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@functools.cache
def _table_owners() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """`table -> package` and `(module, class) -> package` for every mapped class."""
    tables, classes = {}, {}
    for package in PACKAGES:
        for path in _modules(package):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(_parse(path)):
                if not isinstance(node, ast.ClassDef):
                    continue
                for item in node.body:
                    if (isinstance(item, ast.Assign) and len(item.targets) == 1
                            and isinstance(item.targets[0], ast.Name)
                            and item.targets[0].id == "__tablename__"
                            and isinstance(item.value, ast.Constant)):
                        tables[item.value.value] = package
                        classes[(module, node.name)] = package
    return tables, classes


def test_packages_import_only_from_lower_layers():
    upward = []
    for package in PACKAGES:
        if package == "api":
            continue
        for path in _modules(package):
            for name in _imports(_parse(path)):
                top = name.split(".")[0]
                if top in LAYERS and top != package and LAYERS[top] >= LAYERS[package]:
                    upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert upward == []


def test_custody_sits_above_dispatch_and_dispatch_never_names_it():
    for path in _modules("dispatch"):
        text = path.read_text()
        assert "custody" not in text.lower(), f"{path.relative_to(ROOT)} mentions custody"
    assert any(name.startswith("dispatch.") for path in _modules("custody")
               for name in _imports(_parse(path)))


def _foreign_queries(path: Path, package: str, tables: dict[str, str],
                     classes: dict[tuple[str, str], str]) -> list[str]:
    tree = _parse(path)
    foreign = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                owner = classes.get((node.module, alias.name))
                if owner is not None and owner != package:
                    foreign[alias.asname or alias.name] = owner
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in foreign and not node.attr.startswith("__")):
            found.append(f"{node.value.id}.{node.attr} ({foreign[node.value.id]}'s table)")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("select", "insert", "update", "delete")):
            found += [f"{node.func.id}({a.id}) ({foreign[a.id]}'s table)" for a in node.args
                      if isinstance(a, ast.Name) and a.id in foreign]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in SQL_TABLE.findall(node.value):
                owner = tables.get(table.lower())
                if owner is not None and owner != package:
                    found.append(f"SQL on {table} ({owner}'s table)")
    return found


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "api"])
def test_no_package_queries_another_packages_tables(package):
    tables, classes = _table_owners()
    found = []
    for path in _modules(package):
        found += [f"{path.relative_to(ROOT)}: {what}"
                  for what in _foreign_queries(path, package, tables, classes)]
    assert found == []


def test_the_table_map_covers_the_known_tables():
    """Guards the walker itself: if it found no tables, the test above would pass vacuously."""
    tables, classes = _table_owners()
    assert tables["positions"] == "tracking"
    assert tables["orders"] == "dispatch"
    assert tables["custody_entries"] == "custody"
    assert tables["zones"] == "geodata"
    assert ("dispatch.tables", "Order") in classes


def test_the_walker_finds_a_foreign_query(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from tracking.models import Position\n"
                     "q = select(Position).where(Position.courier_id == 1)\n"
                     "raw = 'SELECT 1 FROM positions'\n")
    tables, classes = _table_owners()
    found = _foreign_queries(probe, "dispatch", tables, classes)
    assert len(found) == 3, found


KEY_FAMILY = re.compile(r"prefix\}?\s*\+?\s*['\"]?([a-z][a-z_-]*:)")


def test_redis_key_families_are_spelled_only_by_their_owner():
    found = []
    for package in PACKAGES:
        for path in _modules(package):
            for node in ast.walk(_parse(path)):
                if not isinstance(node, ast.JoinedStr):
                    continue
                parts = node.values
                for before, after in zip(parts, parts[1:], strict=False):
                    if not (isinstance(before, ast.FormattedValue)
                            and isinstance(after, ast.Constant)
                            and "prefix" in ast.unparse(before.value)):
                        continue
                    for family, owner in KEY_OWNERS.items():
                        if str(after.value).startswith(family) and owner != package:
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                         f"spells {family}* ({owner}'s keys)")
    assert found == []
