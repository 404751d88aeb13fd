"""Records to the response models of hub/marketplace/models.py.

A response model's fields are the record's attributes of the same name (the
record's other fields, ``version`` or a bid's ``owner_id``, are left out);
only a ledger entry's ``ref`` is put together.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypeVar

from pydantic import BaseModel

from storage.records import LedgerEntryRecord

from .models import LedgerEntry, LedgerRef

ViewT = TypeVar("ViewT", bound=BaseModel)


def view(model: type[ViewT], record: Any) -> ViewT:
    """``model`` from the attributes of ``record`` (validated, like any response)."""
    return model.model_validate(record, from_attributes=True)


def entry_view(entry: LedgerEntryRecord) -> LedgerEntry:
    return LedgerEntry.model_validate(
        {**asdict(entry), "ref": LedgerRef(type=entry.ref_type, id=entry.ref_id)}
    )


def data(model: BaseModel) -> dict[str, Any]:
    """A response model as a notification's ``data`` carries it."""
    return model.model_dump(mode="json")
