"""Hot reads whose SQL is compiled once per process instead of once per request.

Django compiles a queryset to SQL on every evaluation. For the reads every request makes
(authentication, the factor of a challenge) that compilation costs more CPU than the
database spends answering: on two cores shared with PostgreSQL it was a large share of a
request. A `PreparedQuery` builds its queryset once with marker values in place of the
arguments, keeps the SQL and the compiler's description of the columns, and afterwards only
substitutes the arguments, executes and builds model instances as Django's own
`ModelIterable` does (select_related included).

Only exact-match arguments can be markers (`pk=x`, `field=x`, `relation=x`): a lookup that
transforms its value (`__icontains`, `__in`) would hide the marker, and is refused when the
query is compiled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators


class PreparedQuery:
    def __init__(self, build: Callable[..., QuerySet]) -> None:
        """`build(*arguments)` returns the queryset (on the default database); it is called
        once per process, with markers as arguments."""
        self._build = build
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def all(self, *arguments: Any) -> list[Model]:
        compiled = self._compiled.get("default")
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get("default")
                if compiled is None:  # not compiled meanwhile by another thread
                    compiled = self._compiled["default"] = _Compiled(self._build, arguments)
        return compiled.run(arguments)

    def first(self, *arguments: Any) -> Model | None:
        found = self.all(*arguments)
        return found[0] if found else None


class _Compiled:
    def __init__(self, build: Callable[..., QuerySet], arguments: tuple) -> None:
        markers = [f"\x00prepared-argument-{i}\x00" for i in range(len(arguments))]
        queryset = build(*markers)
        self.db = queryset.db
        compiler = queryset.query.get_compiler(using=self.db)
        self.sql, params = compiler.as_sql()
        self.slots: list[tuple[bool, Any]] = []
        for param in params:
            is_marker = isinstance(param, str) and param in markers
            self.slots.append((True, markers.index(param)) if is_marker else (False, param))
        used = {value for is_marker, value in self.slots if is_marker}
        if used != set(range(len(markers))):
            raise ValueError("a prepared query's arguments must be exact-match lookups")
        self.compiler = compiler
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [
            column[0].target.attname for column in compiler.select[self.start : self.end]
        ]
        self.populators = get_related_populators(klass_info, compiler.select, self.db)
        self.annotations = compiler.annotation_col_map or {}
        # What `compiler.results_iter` works out on every call, worked out once.
        columns = [column[0] for column in compiler.select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(columns)
        self.composite = columns if compiler.has_composite_fields(columns) else None

    def run(self, arguments: tuple) -> list[Model]:
        params = [arguments[value] if is_marker else value for is_marker, value in self.slots]
        with connections[self.db].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        found = []
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.composite is not None:
            rows = self.compiler.composite_fields_to_tuples(rows, self.composite)
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found
