"""A conditional write and what must be stored with it, in one statement.

The hottest write (a login approved by a TOTP code) is a compare-and-set on the factor plus
two rows that must exist only if it won: the challenge and its event. In a transaction that
is BEGIN, UPDATE, INSERT, INSERT, COMMIT: five round trips, which on two cores shared with
PostgreSQL cost more than everything else in the request. PostgreSQL runs data-modifying
CTEs as one atomic statement:

    WITH s0 AS (UPDATE ... WHERE <condition> RETURNING pk),
         s1 AS (INSERT INTO a (...) SELECT ... FROM s0 RETURNING 1)
    INSERT INTO b (...) SELECT ... FROM s1 RETURNING 1

Each INSERT selects from the previous step, so when the UPDATE matches nothing, nothing is
inserted. A `Tail` can end the chain with steps of its own: the outbox event and its webhook
deliveries (`services.webhooks.dispatch.Outbox`). The SQL is generated from the queryset and
the unsaved model instances (the same compiler and field preparation Django's own UPDATE and
INSERT use), so a field added to a model is written here too. Other databases (SQLite in
development) run the same writes in a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from django.db import connections, models, transaction
from django.db.models import Field, Model, QuerySet
from django.db.models.fields import AutoFieldMixin
from django.db.models.sql import UpdateQuery


def insert_columns(model: type[Model]) -> list[Field]:
    """The columns an INSERT of `model` writes (an auto-increment key is the database's)."""
    return [
        f
        for f in model._meta.local_concrete_fields
        if not isinstance(f, AutoFieldMixin) and not f.generated
    ]


# Field classes whose database preparation returns a value of these exact types unchanged
# (`to_python` of a str is the str, of an int the int): the common values of a row skip
# Django's chain of per-field preparation calls, which on the hottest inserts cost more than
# building the rest of the statement. Subclasses are not listed: they may prepare values.
_PASS_THROUGH: dict[type[Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.SmallIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.IntegerField: int,
    models.PositiveIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.BigAutoField: int,
    models.AutoField: int,
}
_PLANS: dict[tuple[int, ...], list[tuple[Field, str, type | None, bool]]] = {}


def _plan(fields: Sequence[Field]) -> list[tuple[Field, str, type | None, bool]]:
    """Per field: its attname, the value type that passes unprepared (None: always
    prepared), and whether `pre_save` must run (auto_now fields set the instance)."""
    key = tuple(id(f) for f in fields)
    plan = _PLANS.get(key)
    if plan is None:
        plan = []
        for field in fields:
            target = field.target_field if field.is_relation else field
            kind = _PASS_THROUGH.get(type(target))
            if type(target) is models.DateTimeField:
                kind = datetime
            auto = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
            plan.append((field, field.attname, kind, auto))
        _PLANS[key] = plan
    return plan


def insert_params(obj: Model, fields: Sequence[Field], connection) -> list[Any]:
    """What `Model.save()` would write for `fields`: defaults, `auto_now(_add)` (set on the
    instance too), database preparation."""
    params = []
    for field, attname, kind, auto in _plan(fields):
        value = field.pre_save(obj, True) if auto else getattr(obj, attname)
        if value is None or (
            type(value) is kind and (kind is not datetime or value.tzinfo is not None)
        ):
            params.append(value)
        else:
            params.append(field.get_db_prep_save(value, connection))
    return params


# Statements built from model metadata, once per process (key: what they were built from).
_BUILT: dict[tuple, str] = {}


def insert_select_sql(connection, model: type[Model], source: str, *, returning: str = "1") -> str:
    """`INSERT INTO <model> (<insert_columns>) SELECT %s, ... FROM <source> RETURNING 1` (or
    `returning`), built once per process; its parameters are `insert_params(obj,
    insert_columns(model))`. PostgreSQL types each parameter from its target column (INSERT
    ... SELECT), so server-side binding needs no casts."""
    key = ("insert", connection.alias, model, source, returning)
    sql = _BUILT.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        fields = insert_columns(model)
        columns = ", ".join(quote(f.column) for f in fields)
        sql = _BUILT[key] = (
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT {', '.join(['%s'] * len(fields))} FROM {source} RETURNING {returning}"
        )
    return sql


class Tail(Protocol):
    """What a chained statement stores after its inserts, only if they were stored: an
    outbox event and the rows it schedules (`services.webhooks.dispatch.Outbox`)."""

    key: str  # names its SQL in the statement cache: `sql` must not vary under one key

    def sql(self, connection, source: str) -> tuple[str, str]:
        """Its CTEs, selecting from the step `source` (one row when the chain won so far),
        and the statement's final SELECT, which yields one row exactly when it won."""

    def params(self, connection) -> list[Any]:
        """The parameters of `sql`, in order."""

    def stored(self, row: tuple) -> None:
        """After the statement won, with its final row."""

    def save(self, using: str) -> None:
        """The same writes through the ORM, inside the caller's transaction (databases other
        than PostgreSQL)."""


def _chain_sql(
    connection, update_sql: str, models: Sequence[type[Model]], tail: Tail | None
) -> str:
    """`WITH s0 AS (<update_sql>), s1 AS (INSERT ... FROM s0), ... INSERT ... FROM s<n-1>`;
    with `tail`, every insert is a step and the tail's SQL ends the statement."""
    steps = [f"s0 AS ({update_sql})"]
    chained = models if tail is not None else models[:-1]
    for index, model in enumerate(chained):
        steps.append(f"s{index + 1} AS ({insert_select_sql(connection, model, f's{index}')})")
    if tail is not None:
        ctes, final = tail.sql(connection, f"s{len(models)}")
        steps.append(ctes)
    else:
        final = insert_select_sql(connection, models[-1], f"s{len(models) - 1}")
    return f"WITH {', '.join(steps)} {final}"


def _chained_sql(
    connection, update_sql: str, key: Any, models: tuple[type[Model], ...], tail: Tail | None
) -> str:
    """`_chain_sql`, cached under `key` (the caller's name for `update_sql`, which must not
    vary per call) and the tail's key."""
    cache_key = ("chain", connection.alias, key, models, tail and tail.key)
    sql = _BUILT.get(cache_key)
    if sql is None:
        sql = _BUILT[cache_key] = _chain_sql(connection, update_sql, models, tail)
    return sql


def update_sql_then_insert(
    connection,
    *,
    key: Any,
    update_sql: str,
    params: Sequence[Any],
    inserts: Sequence[Model],
    tail: Tail | None = None,
) -> bool:
    """`update_then_insert` for an UPDATE the caller wrote once (`update_sql`, ending in
    `RETURNING <something>`; `key` names it for the cache): no queryset is built or compiled
    per call, and the whole statement's text is built once. PostgreSQL only. True when the
    update matched (and so every row of `inserts`, and the tail's, was stored)."""
    all_params: list[Any] = list(params)
    if inserts or tail is not None:
        models = tuple(type(obj) for obj in inserts)
        sql = _chained_sql(connection, update_sql, key, models, tail)
        for obj in inserts:
            all_params += insert_params(obj, insert_columns_of(type(obj)), connection)
        if tail is not None:
            all_params += tail.params(connection)
    else:
        sql = update_sql
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        row = cursor.fetchone()
    return _won(row, inserts, tail, connection.alias)


def _won(row: tuple | None, inserts: Sequence[Model], tail: Tail | None, db: str) -> bool:
    if row is None:
        return False
    for obj in inserts:
        obj._state.adding, obj._state.db = False, db
    if tail is not None:
        tail.stored(row)
    return True


_COLUMNS: dict[type[Model], list[Field]] = {}


def insert_columns_of(model: type[Model]) -> list[Field]:
    """`insert_columns(model)`, computed once per process."""
    fields = _COLUMNS.get(model)
    if fields is None:
        fields = _COLUMNS[model] = insert_columns(model)
    return fields


def update_then_insert(
    rows: QuerySet, values: dict[str, Any], inserts: Sequence[Model], tail: Tail | None = None
) -> bool:
    """UPDATE `rows` SET `values`; only if that changed a row, INSERT `inserts` (in order)
    and store `tail`. True when the update matched. The instances get their `auto_now`
    fields set, as a save would; an auto-increment primary key is not read back."""
    if not inserts and tail is None:
        return rows.update(**values) > 0
    db = rows.db
    connection = connections[db]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=db):
            if not rows.update(**values):
                return False
            for obj in inserts:
                obj.save(force_insert=True, using=db)
            if tail is not None:
                tail.save(db)
            return True
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    update_sql, update_params = query.get_compiler(db).as_sql()
    pk = connection.ops.quote_name(rows.model._meta.pk.column)
    sql = _chain_sql(
        connection, f"{update_sql} RETURNING {pk}", [type(obj) for obj in inserts], tail
    )
    params: list[Any] = list(update_params)
    for obj in inserts:
        params += insert_params(obj, insert_columns_of(type(obj)), connection)
    if tail is not None:
        params += tail.params(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _won(row, inserts, tail, db)


def insert_unless_conflict(obj: Model) -> bool:
    """INSERT `obj`, or nothing when a unique constraint already holds such a row (ON
    CONFLICT DO NOTHING): one statement instead of a read, a savepoint and an insert. True
    when it was inserted. PostgreSQL only (the callers keep a path for development)."""
    connection = connections[obj._state.db or "default"]
    quote = connection.ops.quote_name
    fields = insert_columns(type(obj))
    sql = (
        f"INSERT INTO {quote(obj._meta.db_table)} "  # noqa: S608 (identifiers only)
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, insert_params(obj, fields, connection))
        inserted = cursor.fetchone() is not None
    if inserted:
        obj._state.adding, obj._state.db = False, connection.alias
    return inserted
