"""Writes on contacts (D9, D11) and on who may see which list (B6).

Every write by a user checks the list's edit permission (403 ``no_list_permission``) and adds the
user to the contact's editors ("My contacts"). Events leave after commit to the desktops of the
users who may view the contact's list.

One module per use case family: ``edit``, ``merge``, ``inbound`` (D11), ``csv_io``; shared helpers in ``common``.
"""
from __future__ import annotations

from .common import (  # noqa: F401
    FIELDS,
    MAX_LENGTHS,
    no_list_permission,
    _require_edit,
    clean_custom_fields,
    _clean_value,
    _clean_fields,
    _tags,
    _publish,
    viewer_ids,
    _audit,
    _masked_unchanged,
)
from .edit import (  # noqa: F401
    contact_create,
    contact_update,
    contact_delete,
    _visible_for_update,
    contact_duplicate,
    contact_list_permissions_set,
)
from .merge import (  # noqa: F401
    contact_merge,
    _move_related_rows,
    on_merge,
    merge_hooks_run,
)
from .inbound import (  # noqa: F401
    contact_find_or_create_for_customer,
)
from .csv_io import (  # noqa: F401
    IMPORTABLE,
    contact_import_csv,
    EXPORT_COLUMNS,
    contacts_csv,
    _csv_safe,
)
