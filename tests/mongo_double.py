"""TEST DOUBLE: an async adapter over mongomock standing in for a MongoDB server.

It is used only when HUB_TEST_MONGODB_URL is not set; set that variable to run
the suite against a real server. mongomock is an in-memory imitation: it has no
transactions, no text search, and write concerns mean nothing to it, so a green
run here does not prove those behaviours. The adapter mirrors the subset of
PyMongo's async API the engine uses (awaitable operations, ``find`` returning a
cursor for ``async for`` / ``to_list``) and raises PyMongo's own exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import mongomock
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError


@contextmanager
def _pymongo_errors() -> Iterator[None]:
    # With pymongo installed mongomock re-exports pymongo's DuplicateKeyError,
    # so this is a no-op; without it mongomock defines its own, which engine
    # code (knowing only pymongo) would not catch.
    try:
        yield
    except mongomock.DuplicateKeyError as exc:
        if isinstance(exc, DuplicateKeyError):
            raise
        raise DuplicateKeyError(str(exc), code=11000) from exc


class AsyncMongomockCursor:
    """``find()``'s result: chainable like PyMongo's cursor, consumed asynchronously."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> AsyncMongomockCursor:
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def limit(self, count: int) -> AsyncMongomockCursor:
        self._cursor = self._cursor.limit(count)
        return self

    def skip(self, count: int) -> AsyncMongomockCursor:
        self._cursor = self._cursor.skip(count)
        return self

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        for doc in self._cursor:
            yield doc

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        docs = []
        for doc in self._cursor:
            docs.append(doc)
            if length is not None and len(docs) >= length:
                break
        return docs

    async def close(self) -> None:
        self._cursor.close()


class _AsyncIterable:
    def __init__(self, docs: Any) -> None:
        self._docs = docs

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        for doc in self._docs:
            yield doc

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        return list(self._docs)[:length]


class AsyncMongomockCollection:
    """One mongomock collection behind awaitable methods."""

    def __init__(self, collection: mongomock.Collection) -> None:
        self._collection = collection

    def _call(self, name: str) -> Callable[..., Any]:
        method = getattr(self._collection, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            with _pymongo_errors():
                return method(*args, **kwargs)

        return call

    async def insert_one(self, document: dict[str, Any], **kwargs: Any) -> Any:
        return await self._call("insert_one")(document, **kwargs)

    async def insert_many(self, documents: list[dict[str, Any]], **kwargs: Any) -> Any:
        return await self._call("insert_many")(documents, **kwargs)

    async def find_one(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        return await self._call("find_one")(*args, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> AsyncMongomockCursor:
        return AsyncMongomockCursor(self._collection.find(*args, **kwargs))

    async def update_one(self, filter: dict[str, Any], update: Any, **kwargs: Any) -> Any:
        return await self._call("update_one")(filter, update, **kwargs)

    async def update_many(self, filter: dict[str, Any], update: Any, **kwargs: Any) -> Any:
        return await self._call("update_many")(filter, update, **kwargs)

    async def bulk_write(self, requests: list[Any], **kwargs: Any) -> None:
        """UpdateOne requests only, one by one: mongomock's own bulk_write
        fails on current pymongo's UpdateOne (it passes ``sort``)."""
        for request in requests:
            if not isinstance(request, UpdateOne):
                raise TypeError(f"the test double's bulk_write takes UpdateOne, not {request!r}")
            await self.update_one(request._filter, request._doc, upsert=request._upsert)

    async def delete_one(self, filter: dict[str, Any], **kwargs: Any) -> Any:
        return await self._call("delete_one")(filter, **kwargs)

    async def delete_many(self, filter: dict[str, Any], **kwargs: Any) -> Any:
        return await self._call("delete_many")(filter, **kwargs)

    async def find_one_and_update(
        self, filter: dict[str, Any], update: Any, **kwargs: Any
    ) -> dict[str, Any] | None:
        # kwargs carries return_document, upsert, projection, sort unchanged.
        return await self._call("find_one_and_update")(filter, update, **kwargs)

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        return await self._call("create_index")(keys, **kwargs)

    async def count_documents(self, filter: dict[str, Any], **kwargs: Any) -> int:
        return await self._call("count_documents")(filter, **kwargs)

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> _AsyncIterable:
        # PyMongo's async aggregate is awaited for a cursor, then iterated.
        return _AsyncIterable(self._collection.aggregate(pipeline, **kwargs))


class AsyncMongomockDatabase:
    """A mongomock database shaped like PyMongo's ``AsyncDatabase``."""

    # Lets the engine pick its fallbacks for what mongomock lacks ($text search).
    IS_TEST_DOUBLE = True

    def __init__(self, name: str = "hub", client: mongomock.MongoClient | None = None) -> None:
        self._database = (client or mongomock.MongoClient()).get_database(name)
        self.name = name

    def __getitem__(self, name: str) -> AsyncMongomockCollection:
        return AsyncMongomockCollection(self._database[name])

    def __getattr__(self, name: str) -> AsyncMongomockCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name != "ping":
            raise NotImplementedError(f"the mongomock double only answers ping, not {name!r}")
        return {"ok": 1.0}
