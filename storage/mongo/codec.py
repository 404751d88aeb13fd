"""Records to MongoDB documents and back: the one codec of the Mongo engine.

A document holds a record's fields as they are, under the same names, but the
record's key, which is the document's ``_id``: ``id``, or ``token_hash`` for a
refresh token. Records without a key of their own (memberships, blocks,
ratings, idempotency keys) leave ``_id`` to the server; it is not read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TypeVar, overload

from ..records import RefreshTokenRecord
from ..schema import field_names

Document = dict[str, Any]
R = TypeVar("R")

_KEY_OF: dict[type, str] = {RefreshTokenRecord: "token_hash"}


def key_of(record_type: type) -> str | None:
    """The field stored as ``_id``, if the record has one."""
    key = _KEY_OF.get(record_type)
    if key is None and "id" in field_names(record_type):
        key = "id"
    return key


def to_doc(record: Any) -> Document:
    """``record`` as a document (a deep copy: the record stays the caller's)."""
    doc = asdict(record)
    key = key_of(type(record))
    if key is not None:
        doc["_id"] = doc.pop(key)
    return doc


@overload
def from_doc(record_type: type[R], doc: Mapping[str, Any]) -> R: ...
@overload
def from_doc(record_type: type[R], doc: Mapping[str, Any] | None) -> R | None: ...
def from_doc(record_type: type[R], doc: Mapping[str, Any] | None) -> R | None:
    """The record in ``doc`` (None for no document). A field the document lacks
    (stored before the field existed) takes the record's default."""
    if doc is None:
        return None
    key = key_of(record_type)
    data = {name: doc[name] for name in field_names(record_type) if name in doc}
    if key is not None:
        data[key] = doc["_id"]
    return record_type(**data)
