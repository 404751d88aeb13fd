"""The operations the MongoDB stores share, written once."""

from __future__ import annotations

from typing import Any, TypeVar

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from .codec import Document, from_doc
from .errors import duplicates_raised

R = TypeVar("R")


async def insert(collection: AsyncCollection[Document], doc: Document) -> Any:
    """Insert ``doc`` and return its ``_id``; DuplicateError when a unique index
    holds its key already."""
    with duplicates_raised():
        return (await collection.insert_one(doc)).inserted_id


async def set_once(collection: AsyncCollection[Document], key: str, field: str, value: Any) -> bool:
    """Set ``field`` of the document ``key`` unless it is set already; True for
    the one caller that did (the filter makes check-and-set one server-side step)."""
    result = await collection.update_one({"_id": key, field: None}, {"$set": {field: value}})
    return result.modified_count == 1


async def newest_first(
    collection: AsyncCollection[Document],
    record_type: type[R],
    query: Document,
    *,
    before: str | None,
    limit: int,
) -> list[R]:
    """The records matching ``query``, newest (highest) ``_id`` first, strictly
    before the id ``before``."""
    if before is not None:
        query = {**query, "_id": {"$lt": before}}
    cursor = collection.find(query).sort("_id", DESCENDING).limit(limit)
    return [from_doc(record_type, doc) async for doc in cursor]


async def delete_some(collection: AsyncCollection[Document], query: Document, limit: int) -> int:
    """Delete at most ``limit`` documents matching ``query`` (delete_many has
    no limit): their ids, then those of them still matching."""
    ids = [doc["_id"] async for doc in collection.find(query, {"_id": 1}).limit(limit)]
    if not ids:
        return 0
    result = await collection.delete_many({"_id": {"$in": ids}, **query})
    return int(result.deleted_count)
