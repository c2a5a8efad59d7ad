"""Every error code the service's code can raise, collected from the source.

Not a list kept by hand: class-level `code` attributes of the exception hierarchies, `code=`
keyword arguments, the code argument of any function or class that takes a `code` parameter
(`ApiError(status, "code", ...)`, `error_response(request, status, "code", ...)`),
assignments to a variable named `code` and `{"code": ...}` messages sent over WebSockets.
Used by `scripts/messages.py` (extraction into the message catalogues) and by the tests that
keep every code translated.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The packages whose errors reach a user (simulations/ only talks to its own command line).
PACKAGES = ("api", "custody", "dispatch", "tickets", "tracking", "geodata", "routing")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _strings(node: ast.AST):
    """The string constants an expression can evaluate to (`a if c else b`, `{..}.get(k, d)`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and node.func.attr == "get" and isinstance(node.func.value, ast.Dict)):
        for value in node.func.value.values:
            yield from _strings(value)
        for default in node.args[1:]:
            yield from _strings(default)


def _callee(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _is_code(target: ast.AST) -> bool:
    return isinstance(target, ast.Name) and target.id == "code"


def raised_error_codes() -> dict[str, set[str]]:
    """Code -> the files that can raise it, over `PACKAGES`."""
    trees = [(path, ast.parse(path.read_text("utf-8")))
             for package in PACKAGES for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]
    # Which positional argument is `code`, for every function and class that takes one.
    code_position: dict[str, int] = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        names = [a.arg for a in item.args.posonlyargs + item.args.args][1:]
                        if "code" in names:
                            code_position[node.name] = names.index("code")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and node.name != "__init__":
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if names and names[0] in ("self", "cls"):
                    names = names[1:]
                if "code" in names:
                    code_position[node.name] = names.index("code")
    codes: dict[str, set[str]] = {}
    for path, tree in trees:
        for node in ast.walk(tree):
            found: list[str] = []
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    assigned = (isinstance(item, ast.Assign) and any(map(_is_code, item.targets))
                                or isinstance(item, ast.AnnAssign) and _is_code(item.target))
                    if assigned and item.value is not None:
                        found += _strings(item.value)
            elif isinstance(node, ast.Assign) and any(map(_is_code, node.targets)):
                found += _strings(node.value)
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        found += _strings(keyword.value)
                position = code_position.get(_callee(node.func))
                if position is not None and len(node.args) > position:
                    found += _strings(node.args[position])
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code":
                        found += _strings(value)
            for code in found:
                if CODE.match(code):
                    codes.setdefault(code, set()).add(str(path.relative_to(PROJECT_ROOT)))
    return codes
