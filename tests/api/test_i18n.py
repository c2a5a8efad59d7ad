"""Every error code the service can raise has a message in every language it speaks.

The codes are collected from the source (not from a list kept by hand): class-level `code`
attributes of the exception hierarchies, `code=` keyword arguments, the code argument of any
function or class that takes a `code` parameter (`ApiError(status, "code", ...)`,
`error_response(request, status, "code", ...)`), assignments to a variable named `code` and
`{"code": ...}` messages sent over WebSockets.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api.i18n import LANGUAGES, MESSAGES, pick_language, translate, translate_validation

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The packages whose errors reach a user (simulations/ only talks to its own command line).
PACKAGES = ("api", "dispatch", "tracking", "geodata", "routing")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


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


def test_the_collector_finds_codes_of_every_kind():
    codes = raised_error_codes()
    assert "courier_over_capacity" in codes  # Conflict(..., code="...")
    assert "offer_expired" in codes  # class attribute
    assert "point_off_network" in codes  # class attribute with a ClassVar annotation
    assert "idempotency_key_reused" in codes  # ApiError(422, "...", ...)
    assert "console_not_built" in codes  # error_response(request, 503, "...", ...)
    assert "invalid_bbox" in codes  # a WebSocket refusal
    assert "http_error" in codes  # the default of a status -> code mapping
    assert len(codes) > 80


def test_every_error_code_the_code_raises_has_a_message_in_every_language():
    missing = {
        code: sorted(set(LANGUAGES) - {lang for lang, text in MESSAGES.get(code, {}).items()
                                       if text.strip()})
        for code in raised_error_codes()
    }
    missing = {code: languages for code, languages in missing.items() if languages}
    assert not missing, f"add these to api/i18n.py MESSAGES: {missing}"


def test_messages_are_written_in_their_own_script():
    for code, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), code
        assert CYRILLIC.search(texts["ru"]), (code, texts["ru"])
        assert not CYRILLIC.search(texts["uz"]), (code, "Uzbek in Latin script", texts["uz"])
        assert not CYRILLIC.search(texts["en"]), (code, texts["en"])
        assert texts["en"] != texts["ru"] != texts["uz"], code


def test_pick_language_honours_quality_values():
    assert pick_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert pick_language("en;q=0.5, uz;q=0.9") == "uz"
    assert pick_language("fr, de") == "en"
    assert pick_language(None) == "en"
    assert pick_language("uz;q=0, ru;q=0.1") == "ru"
    assert pick_language("ru;q=abc, uz") == "uz"


def test_translate_falls_back_to_the_given_message():
    assert translate("not_found", "ru", "x") == "Не найдено."
    assert translate("some_new_code", "uz", "fallback text") == "fallback text"


def test_detailed_messages_name_what_the_details_carry():
    details = {"status": "pending", "leg": "pickup", "due_statuses": ["assigned", "at_pickup"]}
    assert translate("handoff_leg_mismatch", "en", "x", details) == (
        "The order is pending; its pickup handoff waits for status assigned or at_pickup.")
    assert "assigned или at_pickup" in translate("handoff_leg_mismatch", "ru", "x", details)
    assert "assigned yoki at_pickup" in translate("handoff_leg_mismatch", "uz", "x", details)
    # Without the details it names, the plain message of the code.
    assert translate("handoff_leg_mismatch", "en", "x", {"leg": "pickup"}) == (
        "The order is not waiting for this handoff.")


def test_validation_messages_are_translated_with_their_context():
    assert translate_validation("greater_than", {"gt": 0}, "ru", "x") == (
        "Значение должно быть больше 0")
    assert translate_validation("missing", None, "uz", "x") == "Majburiy maydon"
    assert translate_validation("some_future_type", {}, "ru", "pydantic text") == "pydantic text"
