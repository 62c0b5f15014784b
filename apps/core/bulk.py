"""Writing many rows of one model in one statement, where the ORM's own way costs too much CPU."""
from __future__ import annotations

from django.db import connection
from django.db.models import Model


def update_rows(objs: list[Model], fields: list[str]) -> None:
    """UPDATE each of ``objs`` (all of one model) to the values of its ``fields``, in one statement.

    Written out because Django's ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression per
    field and row, and resolving them was an eighth of a worker's CPU in a batch of webhooks (py-spy,
    issue 11). On PostgreSQL this sends ``UPDATE t SET f = v.f::type, … FROM (VALUES (pk, f, …), …) AS
    v WHERE t.pk = v.pk``, each value prepared by its field as the ORM's own UPDATE prepares it, and
    each cast to its column's type (a VALUES list only types its columns from the values). Elsewhere it
    is ``bulk_update``.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields)
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    params: list = []
    for obj in objs:
        params.append(meta.pk.get_db_prep_value(obj.pk, connection))
        params += [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns]
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    names = ", ".join(["row_pk"] + [qn(field.column) for field in columns])
    sets = ", ".join(f"{qn(field.column)} = v.{qn(field.column)}::{field.db_type(connection)}" for field in columns)
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {sets} FROM (VALUES {', '.join([row] * len(objs))}) AS v({names}) "
        f"WHERE t.{qn(meta.pk.column)} = v.row_pk::{meta.pk.db_type(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
