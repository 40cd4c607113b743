"""Production code uses only the public APIs of Django, DRF, Celery, kombu, redis-py and the
twilio SDK and patches none of them: a library upgrade must be a version bump, not a project.
A static AST scan of the production modules (no database needed) flags:
1. an `_`-prefixed, non-dunder attribute (or `getattr(obj, "_x")`) of anything not clearly
   ours. Our modules' attributes and our objects' own names pass, and so do ALLOWED_ATTRS;
   `self._x` passes in a project class unless a library base class defines or uses `_x` (or
   the class has library bases and never defines `_x`); overriding a library's `_x` is flagged;
2. importing an `_`-prefixed name or module from those libraries;
3. assigning to or deleting an attribute of something imported from them, or `setattr` on it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"services", "entities", "factors", "challenges", "limits", "channels", "verify_platform"}
LIBRARIES = {"django", "rest_framework", "celery", "kombu", "redis", "twilio"}
EXCLUDED = ("tests/", "bench/", "scripts/", ".venv/")
# Documented by Django despite the underscore: Model._meta ("Model _meta API" reference),
# Model._default_manager and Model._base_manager ("Managers" topic). Nothing else passes.
ALLOWED_ATTRS = {"_meta", "_default_manager", "_base_manager"}
# urllib3 (not one of the libraries above): the webhook transport connects only to the
# addresses it checked by replacing `HTTPConnection._new_conn`, urllib3's one connect step
# (no public hook opens the socket); pinned by tests/webhooks/test_rebinding.py.
KEPT = {
    ("services/webhooks/transport.py", "_new_conn"),
    ("services/webhooks/transport.py", "_dns_host"),
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def top(origin: str | None) -> str:
    return (origin or "").partition(".")[0]


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    """`a.b.c` with `a` bound by an import, a class statement or an alias -> its origin."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Subscript):  # Generic[T], a subscripted attribute
        return dotted(node.value, names)
    if isinstance(node, ast.Attribute) and (base := dotted(node.value, names)):
        return f"{base}.{node.attr}"
    return None


def bindings(tree: ast.Module, path: str) -> dict[str, str]:
    """The names a module binds to imported or project objects (flow-insensitive)."""
    names: dict[str, str] = {}
    name = module_name(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(filter(None, [base, node.module or ""]))
            names.update({a.asname or a.name: f"{source}.{a.name}" for a in node.names})
        elif isinstance(node, ast.ClassDef):
            names.setdefault(node.name, f"{name}.{node.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            origin = dotted(node.value, names)
            if isinstance(node.value, ast.Call):  # an instance of a project class is ours
                origin = dotted(node.value.func, names)
                origin = f"{origin}()" if top(origin) in PROJECT else None
            for target in node.targets:
                if origin and isinstance(target, ast.Name) and target.id not in names:
                    names[target.id] = origin
    return names


@functools.cache
def library_uses(base: str, attr: str) -> bool:
    """Whether an importable library class, or one of its bases, defines or uses `attr`."""
    module, _, name = base.rpartition(".")
    with contextlib.suppress(Exception):  # not importable: no class to compare with
        for cls in inspect.getmro(getattr(importlib.import_module(module), name)):
            with contextlib.suppress(OSError, TypeError):  # no source: builtin, made at run time
                if attr in vars(cls) or re.search(rf"\bself\.{attr}\b", inspect.getsource(cls)):
                    return True
    return False


def defined(tree: ast.AST) -> set[str]:
    """The names code defines: functions, classes, assigned names, `self._x = ...`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            names |= {node.attr} if getattr(node.value, "id", "") in ("self", "cls") else set()
    return names


class Scanner:
    def __init__(self, sources: dict[str, str]) -> None:
        self.lines = {path: text.splitlines() for path, text in sources.items()}
        trees = {path: ast.parse(text, path) for path, text in sources.items()}
        self.modules = {module_name(path) for path in sources}
        self.names = {path: bindings(tree, path) for path, tree in trees.items()}
        self.own: set[str] = set().union(*map(defined, trees.values()))  # the project's names
        self.classes = {  # a class -> (the names it defines, its bases' origins)
            f"{module_name(p)}.{c.name}": (defined(c), [dotted(b, self.names[p]) for b in c.bases])
            for p, tree in trees.items()
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
        }
        # A class's library bases, with those of every class it is mixed into.
        self.ancestors = {key: {key} for key in self.classes}
        self.bases = {key: self.lineage(key, self.ancestors[key]) for key in self.classes}
        for key, ancestors in self.ancestors.items():
            for ancestor in ancestors:
                self.bases[ancestor] |= self.bases[key]
        self.found: dict[str, int] = {}  # ordered and without repeats
        for path, tree in trees.items():
            self.visit(path, tree, None)

    def lineage(self, key: str, seen: set[str]) -> set[str]:
        """A project class's library base classes; `seen` gets the project ones."""
        found: set[str] = set()
        for base in self.classes[key][1]:
            if base in self.classes and base not in seen:
                seen.add(base)
                found |= self.lineage(base, seen)
            elif base and top(base) not in PROJECT:  # no origin: a builtin such as Exception
                found.add(base)
        return found

    def library_base(self, cls: str, attr: str) -> str | None:
        return next((base for base in sorted(self.bases[cls]) if library_uses(base, attr)), None)

    def flag(self, path: str, node: ast.AST, rule: int, why: str) -> None:
        line = getattr(node, "lineno", 0)
        text = self.lines[path][line - 1].strip()
        self.found[f"{path}:{line}: {text}  # rule {rule}: {why}"] = 0

    def check(self, path: str, node: ast.AST, value: ast.expr, attr: str, cls: str | None) -> None:
        if not is_private(attr) or attr in ALLOWED_ATTRS:
            return
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in ("super", "type"):
            value = value.args[0] if value.args else ast.Name("self")  # super(), type(self)
        if cls and isinstance(value, ast.Name) and value.id in ("self", "cls"):
            ours = any(attr in self.classes[key][0] for key in self.ancestors[cls])
            if hit := self.library_base(cls, attr):
                self.flag(path, node, 1, f"{attr} belongs to {hit}")
            elif self.bases[cls] and not ours:
                self.flag(path, node, 1, f"{attr} is inherited from {sorted(self.bases[cls])}")
            return
        origin = dotted(value, self.names[path])
        if top(origin) in PROJECT and (origin in self.modules or attr in self.own):
            return
        self.flag(path, node, 1, f"private attribute {attr} of {origin or ast.unparse(value)}")

    def visit(self, path: str, node: ast.AST, cls: str | None) -> None:
        patched = None
        if isinstance(node, ast.ClassDef):
            cls = f"{module_name(path)}.{node.name}"
            for item in node.body:
                name = getattr(item, "name", "")
                if is_private(name) and (hit := self.library_base(cls, name)):
                    self.flag(path, item, 1, f"overrides {name} of {hit}")
        elif isinstance(node, ast.Attribute):
            self.check(path, node, node.value, node.attr, cls)
            patched = node.value if not isinstance(node.ctx, ast.Load) else None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            if node.func.id in ("getattr", "hasattr", "setattr", "delattr"):
                if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    self.check(path, node, node.args[0], str(node.args[1].value), cls)
                patched = node.args[0] if node.func.id in ("setattr", "delattr") else None
        elif isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            prefix = f"{node.module}." if isinstance(node, ast.ImportFrom) else ""
            for name in (prefix + alias.name for alias in node.names):
                if top(name) in LIBRARIES and any(map(is_private, name.split("."))):
                    self.flag(path, node, 2, f"imports the private {name}")
        if patched and top(dotted(patched, self.names[path])) in LIBRARIES:
            self.flag(path, node, 3, "monkeypatches a library object")
        for child in ast.iter_child_nodes(node):
            self.visit(path, child, cls)


def test_production_code_uses_only_public_library_apis() -> None:
    git = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"]
    sources = {  # tracked modules and new ones not added yet, not those deleted from the disk
        path: (ROOT / path).read_text()
        for path in sorted(set(subprocess.check_output(git, cwd=ROOT, text=True).split()))
        if not path.startswith(EXCLUDED) and "/migrations/" not in path and (ROOT / path).exists()
    }
    assert "verify_platform/settings.py" in sources and "challenges/models.py" in sources
    found = [
        line
        for line in Scanner(sources).found
        if not any(line.startswith(f"{path}:") and name in line for path, name in KEPT)
    ]
    assert not found, "private library API used or patched:\n" + "\n".join(found)


OWN = "class Counter:\n    def __init__(self):\n        self._count = 0\n_shared = Counter()\n"
# Each flagged line ends with the numbers of the rules it breaks; the other lines pass.
BAD = """
from django import conf, db
from django.db.models import _private  # 2
import celery._state  # 2
from kombu.transport import redis as kombu_redis
from rest_framework import serializers
from verify_platform import own
def f(obj, model):
    obj._state.adding = False  # 1
    getattr(db.connection, "_sock", None)  # 1
    kombu_redis.Channel._create_client = f  # 1 3
    conf.settings.DEBUG = True  # 3
    setattr(serializers.Serializer, "to_representation", f)  # 3
    model._meta.concrete_fields, model._default_manager.all(), obj.__class__
    counter = own.Counter()
    own._shared, own._shared._count, counter._count
def task(self): return self._count  # 1
class S(serializers.Serializer):
    def to_representation(self, instance):
        self._context = {}  # 1
        return self._readable_fields, self._mine, type(self)._helper()  # 1
    def _helper(self):
        self._mine = super().to_representation(None)
class Channel(kombu_redis.Channel):
    def _create_client(self, asynchronous=False):  # 1
        return super()._create_client(asynchronous)  # 1
class Mixin:
    def read(self):
        return self._declared_fields, self._anything  # 1
class Mixed(Mixin, serializers.Serializer): pass
"""


def test_the_scan_flags_each_rule_and_passes_our_own_privates() -> None:
    found = list(Scanner({"verify_platform/own.py": OWN, "verify_platform/bad.py": BAD}).found)
    rules: dict[int, set[str]] = {}
    for offence in found:
        path, line, text = offence.split(":", 2)
        rules.setdefault(int(line), set()).add(text.rpartition("  # rule ")[2][0])
        assert path == "verify_platform/bad.py", offence
    marks = {n: set(s.partition("  # ")[2].split()) for n, s in enumerate(BAD.splitlines(), 1)}
    assert rules == {n: marked for n, marked in marks.items() if marked}, "\n".join(found)
