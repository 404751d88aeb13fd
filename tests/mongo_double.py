"""TEST DOUBLE: an async adapter over mongomock standing in for a MongoDB server.

It is used only when HUB_TEST_MONGODB_URL is not set; set that variable to run
the suite against a real server. mongomock is an in-memory imitation, and this
adapter mirrors the subset of PyMongo's async API the engine uses (awaitable
operations, ``find`` returning a cursor for ``async for`` / ``to_list``,
``client.start_session()`` and ``session.with_transaction``) and raises
PyMongo's own exceptions. The engine runs its one production path on it: this
file supplies what mongomock lacks, as stand-ins that are only as good as
described here.

* **Transactions** (mongomock has none): ``with_transaction`` runs the callback
  once and, if it raises, puts back a copy of every collection taken before it
  ran: all or nothing, as on a server. There is no isolation and no write
  conflict: the engine's callbacks never yield to the event loop on this
  double (its operations complete without suspending), so no other task runs
  in between. An operation that does not carry the running transaction's
  session is refused, which catches a forgotten ``session=`` (on a server it
  would run outside the transaction). Not checked here: concurrent
  transactions on a server, their retries on TransientTransactionError, and
  that a standalone server refuses transactions.
* **``$text``** (mongomock has none): emulates a text index of version 3 with
  ``default_language: "none"``: words are split at anything but letters, digits
  and ``_``, matched case- and diacritic-insensitively, any word matches, and
  ``{"$meta": "textScore"}`` is MongoDB's score formula for one field. Not
  checked here: the server's exact tokenizer (it splits at a defined set of
  Unicode delimiters), phrases and negations in ``$search`` (refused here; the
  engine sends neither), languages other than "none".
* Write concerns mean nothing here, and only ``ping`` and ``hello`` commands
  are answered (``hello`` as a replica-set primary).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import mongomock
from pymongo import UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError, OperationFailure

T = TypeVar("T")
Document = dict[str, Any]


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


class AsyncMongomockClient:
    """The client: hands out databases and sessions, and runs transactions."""

    def __init__(self) -> None:
        self._client = mongomock.MongoClient()
        self._databases: dict[str, mongomock.Database] = {}
        self.transaction: AsyncMongomockSession | None = None

    def get_database(self, name: str) -> AsyncMongomockDatabase:
        return AsyncMongomockDatabase(name, self)

    def _database(self, name: str) -> mongomock.Database:
        if name not in self._databases:
            self._databases[name] = self._client.get_database(name)
        return self._databases[name]

    def start_session(self, **_options: Any) -> AsyncMongomockSession:
        # Not a coroutine, as in PyMongo: ``async with client.start_session()``.
        return AsyncMongomockSession(self)

    def snapshot(self) -> dict[tuple[str, str], list[Document]]:
        """A copy of every collection of every database handed out."""
        return {
            (db_name, name): list(database[name].find({}))
            for db_name, database in self._databases.items()
            for name in database.list_collection_names()
        }

    def restore(self, snapshot: dict[tuple[str, str], list[Document]]) -> None:
        for db_name, database in self._databases.items():
            for name in database.list_collection_names():
                collection = database[name]
                collection.delete_many({})
                docs = snapshot.get((db_name, name))
                if docs:
                    collection.insert_many(docs)

    async def close(self) -> None:
        pass


class AsyncMongomockSession:
    """``AsyncClientSession``'s ``async with`` and ``with_transaction``; see the
    module docstring for what the transaction does and does not emulate."""

    def __init__(self, client: AsyncMongomockClient) -> None:
        self.client = client

    async def __aenter__(self) -> AsyncMongomockSession:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        pass

    @property
    def in_transaction(self) -> bool:
        return self.client.transaction is self

    async def with_transaction(
        self, callback: Callable[[AsyncMongomockSession], Awaitable[T]], **_options: Any
    ) -> T:
        if self.client.transaction is not None:
            raise RuntimeError("TEST DOUBLE: one transaction at a time (it cannot isolate two)")
        before = self.client.snapshot()
        self.client.transaction = self
        try:
            result = await callback(self)
        except BaseException:
            self.client.transaction = None
            self.client.restore(before)  # abort: nothing of it stays
            raise
        self.client.transaction = None  # commit: everything stays
        return result


def _check_session(client: AsyncMongomockClient, kwargs: dict[str, Any]) -> None:
    """Take ``session`` out of ``kwargs`` (mongomock refuses it), refusing an
    operation that runs beside a transaction instead of in it."""
    session = kwargs.pop("session", None)
    if session is not None and session.client is not client:
        raise ValueError("TEST DOUBLE: a session of another client")
    if client.transaction is not None and session is not client.transaction:
        raise AssertionError(
            "TEST DOUBLE: an operation without the running transaction's session. Either"
            " session= is missing (on a server it would run outside the transaction), or"
            " the transaction let another task run, which this double cannot isolate."
        )


class AsyncMongomockCursor:
    """``find()``'s result: chainable like PyMongo's cursor, consumed asynchronously."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, key_or_list: Any, direction: Any = None) -> AsyncMongomockCursor:
        if _text_score_sort(key_or_list):
            raise OperationFailure("textScore sort needs a $text query", code=2)
        self._cursor = self._cursor.sort(key_or_list, direction)
        return self

    def limit(self, count: int) -> AsyncMongomockCursor:
        self._cursor = self._cursor.limit(count)
        return self

    def skip(self, count: int) -> AsyncMongomockCursor:
        self._cursor = self._cursor.skip(count)
        return self

    def __aiter__(self) -> AsyncIterator[Document]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Document]:
        for doc in self._cursor:
            yield doc

    async def to_list(self, length: int | None = None) -> list[Document]:
        docs = []
        for doc in self._cursor:
            docs.append(doc)
            if length is not None and len(docs) >= length:
                break
        return docs

    async def close(self) -> None:
        self._cursor.close()


def _text_score_sort(key_or_list: Any) -> bool:
    keys = key_or_list if isinstance(key_or_list, list) else []
    return any(isinstance(spec, Mapping) and "$meta" in spec for _, spec in keys)


class _TextSearchCursor:
    """TEST DOUBLE for a ``$text`` query's cursor (mongomock has no ``$text``)."""

    def __init__(self, collection: mongomock.Collection, filter: Document) -> None:
        text = dict(filter["$text"])
        search = text.pop("$search")
        if text or not isinstance(search, str):
            raise NotImplementedError(f"TEST DOUBLE: $text takes only $search here, not {text}")
        if '"' in search or any(term.startswith("-") for term in search.split()):
            raise NotImplementedError("TEST DOUBLE: no phrases or negations in $search")
        fields = [
            name
            for index in collection.index_information().values()
            for name, kind in index["key"]
            if kind == "text"
        ]
        if not fields:
            raise OperationFailure("text index required for $text query", code=27)
        self._collection = collection
        self._rest = {key: value for key, value in filter.items() if key != "$text"}
        self._fields = fields
        self._terms = set(_text_tokens(search))
        self._sort: list[tuple[str, Any]] = []
        self._skip = 0
        self._limit = 0

    def sort(self, key_or_list: Any, direction: Any = None) -> _TextSearchCursor:
        if isinstance(key_or_list, str):
            key_or_list = [(key_or_list, 1 if direction is None else direction)]
        self._sort = list(key_or_list)
        return self

    def limit(self, count: int) -> _TextSearchCursor:
        self._limit = count
        return self

    def skip(self, count: int) -> _TextSearchCursor:
        self._skip = count
        return self

    def _results(self) -> list[Document]:
        scored = []
        for doc in self._collection.find(self._rest):
            score = sum(_text_score(doc.get(name), self._terms) for name in self._fields)
            if score > 0:
                scored.append((score, doc))
        # One stable sort per key, the last key first; textScore sorts best first.
        for key, spec in reversed(self._sort):
            if isinstance(spec, Mapping):
                scored.sort(key=lambda pair: pair[0], reverse=True)
            else:
                scored.sort(key=lambda pair, k=key: _sort_value(pair[1].get(k)), reverse=spec < 0)
        docs = [doc for _, doc in scored][self._skip :]
        return docs[: self._limit] if self._limit else docs

    def __aiter__(self) -> AsyncIterator[Document]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Document]:
        for doc in self._results():
            yield doc

    async def to_list(self, length: int | None = None) -> list[Document]:
        return self._results()[:length]

    async def close(self) -> None:
        pass


def _sort_value(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)  # null sorts first, as on a server


def _text_tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFD", text.casefold())
    return re.findall(r"\w+", "".join(c for c in folded if not unicodedata.combining(c)))


def _text_score(value: Any, terms: set[str]) -> float:
    """MongoDB's textScore of one field (weight 1) for the query ``terms``:
    per term, ``freq * (0.5 * count / tokens + 0.5)``, where the n-th occurrence
    adds ``1 / 2**(n-1)`` to ``freq``, times 1.1 when the term is the whole field."""
    if not isinstance(value, str):
        return 0.0
    tokens = _text_tokens(value)
    counts = Counter(tokens)
    score = 0.0
    for term in terms:
        count = counts[term]
        if count:
            freq = sum(1 / 2**n for n in range(count))
            whole = 1.1 if value.casefold() == term else 1.0
            score += freq * (0.5 * count / len(tokens) + 0.5) * whole
    return score


class _AsyncIterable:
    def __init__(self, docs: Any) -> None:
        self._docs = docs

    def __aiter__(self) -> AsyncIterator[Document]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Document]:
        for doc in self._docs:
            yield doc

    async def to_list(self, length: int | None = None) -> list[Document]:
        return list(self._docs)[:length]


class AsyncMongomockCollection:
    """One mongomock collection behind awaitable methods."""

    def __init__(self, collection: mongomock.Collection, client: AsyncMongomockClient) -> None:
        self._collection = collection
        self._client = client

    def _call(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._collection, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            _check_session(self._client, kwargs)
            with _pymongo_errors():
                return method(*args, **kwargs)

        return call

    async def insert_one(self, document: Document, **kwargs: Any) -> Any:
        return await self._call("insert_one")(document, **kwargs)

    async def insert_many(self, documents: list[Document], **kwargs: Any) -> Any:
        return await self._call("insert_many")(documents, **kwargs)

    async def find_one(self, *args: Any, **kwargs: Any) -> Document | None:
        if args and isinstance(args[0], Mapping) and "$text" in args[0]:
            raise NotImplementedError("TEST DOUBLE: $text in find_one")
        return await self._call("find_one")(*args, **kwargs)

    def find(
        self, filter: Document | None = None, *args: Any, **kwargs: Any
    ) -> AsyncMongomockCursor | _TextSearchCursor:
        _check_session(self._client, kwargs)
        if filter is not None and "$text" in filter:
            if args or kwargs:
                raise NotImplementedError("TEST DOUBLE: $text with find() options")
            return _TextSearchCursor(self._collection, filter)
        return AsyncMongomockCursor(self._collection.find(filter, *args, **kwargs))

    async def update_one(self, filter: Document, update: Any, **kwargs: Any) -> Any:
        return await self._call("update_one")(filter, update, **kwargs)

    async def update_many(self, filter: Document, update: Any, **kwargs: Any) -> Any:
        return await self._call("update_many")(filter, update, **kwargs)

    async def bulk_write(self, requests: list[Any], **kwargs: Any) -> None:
        """UpdateOne and UpdateMany requests only, one by one: mongomock's own
        bulk_write fails on current pymongo's UpdateOne (it passes ``sort``)."""
        _check_session(self._client, kwargs)
        for request in requests:
            if isinstance(request, UpdateOne):
                await self.update_one(request._filter, request._doc, upsert=request._upsert)
            elif isinstance(request, UpdateMany):
                await self.update_many(request._filter, request._doc, upsert=request._upsert)
            else:
                raise TypeError(f"the test double's bulk_write takes updates, not {request!r}")

    async def delete_one(self, filter: Document, **kwargs: Any) -> Any:
        return await self._call("delete_one")(filter, **kwargs)

    async def delete_many(self, filter: Document, **kwargs: Any) -> Any:
        return await self._call("delete_many")(filter, **kwargs)

    async def find_one_and_update(
        self, filter: Document, update: Any, **kwargs: Any
    ) -> Document | None:
        # kwargs carries return_document, upsert, projection, sort unchanged.
        return await self._call("find_one_and_update")(filter, update, **kwargs)

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        return await self._call("create_index")(keys, **kwargs)

    async def count_documents(self, filter: Document, **kwargs: Any) -> int:
        return await self._call("count_documents")(filter, **kwargs)

    async def aggregate(self, pipeline: list[Document], **kwargs: Any) -> _AsyncIterable:
        # PyMongo's async aggregate is awaited for a cursor, then iterated.
        _check_session(self._client, kwargs)
        return _AsyncIterable(self._collection.aggregate(pipeline, **kwargs))


class AsyncMongomockDatabase:
    """A mongomock database shaped like PyMongo's ``AsyncDatabase``; its
    ``client`` starts the sessions the engine's transactions run in."""

    def __init__(self, name: str = "hub", client: AsyncMongomockClient | None = None) -> None:
        self.client = client or AsyncMongomockClient()
        self._database = self.client._database(name)
        self.name = name

    def __getitem__(self, name: str) -> AsyncMongomockCollection:
        return AsyncMongomockCollection(self._database[name], self.client)

    def __getattr__(self, name: str) -> AsyncMongomockCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> Document:
        if name == "ping":
            return {"ok": 1.0}
        if name == "hello":  # a replica set's primary: transactions are available
            return {"isWritablePrimary": True, "setName": "mongomock-double", "ok": 1.0}
        raise NotImplementedError(f"the mongomock double answers ping and hello, not {name!r}")
