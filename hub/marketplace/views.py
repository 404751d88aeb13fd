"""Records to the response models of hub/marketplace/models.py.

A response model's fields are the record's attributes of the same name (the
record's other fields, ``version`` or a bid's ``owner_id``, are left out);
only a ledger entry's ``ref`` and a milestone's dispute notes are put together.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypeVar

from pydantic import BaseModel

from storage.records import LedgerEntryRecord, MilestoneRecord

from .models import LedgerEntry, LedgerRef, Milestone, MilestoneNote

ViewT = TypeVar("ViewT", bound=BaseModel)


def view(model: type[ViewT], record: Any) -> ViewT:
    """``model`` from the attributes of ``record`` (validated, like any response)."""
    return model.model_validate(record, from_attributes=True)


def entry_view(entry: LedgerEntryRecord) -> LedgerEntry:
    return LedgerEntry.model_validate(
        {**asdict(entry), "ref": LedgerRef(type=entry.ref_type, id=entry.ref_id)}
    )


def dispute_notes(m: MilestoneRecord) -> tuple[MilestoneNote | None, MilestoneNote | None]:
    """The owner's and the freelancer's dispute notes (None: that side wrote none)."""

    def note(user_id: str, text: str | None, at: str | None) -> MilestoneNote | None:
        if text is None or at is None:
            return None
        return MilestoneNote(user_id=user_id, text=text, updated_at=at)

    return (
        note(m.owner_id, m.owner_note, m.owner_note_at),
        note(m.freelancer_id, m.freelancer_note, m.freelancer_note_at),
    )


def milestone_view(m: MilestoneRecord) -> Milestone:
    """A milestone as its parties (and admins) see it, both sides' notes included."""
    owner_note, freelancer_note = dispute_notes(m)
    shown = {name: getattr(m, name) for name in Milestone.model_fields if name not in _NOTES}
    return Milestone.model_validate(
        {**shown, "owner_note": owner_note, "freelancer_note": freelancer_note}
    )


_NOTES = frozenset({"owner_note", "freelancer_note"})


def data(model: BaseModel) -> dict[str, Any]:
    """A response model as a notification's ``data`` carries it."""
    return model.model_dump(mode="json")
