"""What every request model is built from, and the one way to validate input.

An operation has one pydantic model, which the socket event validates against
as it is. Its REST twin is derived from it (``rest_body``, ``rest_query``):
the same fields less those the URL path carries, so the two doors can never
disagree on a field's rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.fields import FieldInfo

from .errors import ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)

Id = Annotated[str, Field(min_length=1, max_length=64)]
Seq = Annotated[int, Field(ge=0, le=2**53)]
Limit = Annotated[int, Field(ge=1, le=100)]
HttpUrl = Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]
# Cursors are base64url text, never anything a browser has to percent-encode.
Cursor = Annotated[
    str,
    Field(
        max_length=200, pattern=r"^[A-Za-z0-9_=-]*$", description="next_cursor of the previous page"
    ),
]

# Marks a request field whose limits are settings, not constants (the services
# check them): build_openapi replaces the mark with what this hub is configured for.
CONFIGURED = "x-hub-configured"


def configured(name: str) -> dict[str, str]:
    """``json_schema_extra`` of a field limited by the setting ``name``."""
    return {CONFIGURED: name}


class Body(BaseModel):
    """Strict request body: unknown fields are rejected, types are not coerced
    (an int field takes a JSON integer only: ``5.0``, ``"5"`` and ``true`` are
    422). The one gap strict mode leaves is closed by ``IntChoice``."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _json_integer(value: object) -> object:
    if type(value) is not int:
        raise ValueError("must be an integer")
    return value


# For a ``Literal`` of ints: pydantic matches literals by equality, so 5.0 (== 5)
# passes one even in strict mode. ``Annotated[Literal[2, 5], IntChoice]``.
IntChoice = BeforeValidator(_json_integer)

_DIGITS = re.compile(r"-?[0-9]{1,19}")
_BOOLEANS = {"true": True, "false": False}


def _int_text(text: str) -> object:
    # Anything else stays text, which the strict int field refuses (422).
    return int(text) if _DIGITS.fullmatch(text) else text


def _bool_text(text: str) -> object:
    return _BOOLEANS.get(text, text)


def _text_parser(annotation: Any) -> Callable[[str], object] | None:
    """How a query field of this type reads its text, if it is not a string."""
    union = get_origin(annotation) in (Union, UnionType)
    options = get_args(annotation) if union else (annotation,)
    bare = {
        get_args(option)[0] if get_origin(option) is Annotated else option for option in options
    }
    if bool in bare:
        return _bool_text
    if int in bare:
        return _int_text
    return None


class Query(BaseModel):
    """Query strings: every value arrives as text. An int field takes digits only
    (``5``, not ``5.0``) and a bool field ``true`` or ``false``; past that the model
    is as strict as a body. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)
    _parsers: ClassVar[dict[str, Callable[[str], object]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._parsers = {
            name: parser
            for name, field in cls.model_fields.items()
            if (parser := _text_parser(field.annotation)) is not None
        }

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: cls._parsers[key](value)
            if key in cls._parsers and isinstance(value, str)
            else value
            for key, value in data.items()
        }


def validate(model: type[ModelT], data: Any) -> ModelT:
    """``data`` as ``model``, or ValidationFailed naming the fields at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc


def operation(model: type[ModelT], part: BaseModel, **path: str) -> ModelT:
    """The operation ``model`` from its REST ``part`` (a body or query derived by
    ``rest_body``/``rest_query``) and the values the URL ``path`` carries."""
    return validate(model, {**part.model_dump(), **path})


def rest_body(
    operation: type[BaseModel],
    name: str,
    *,
    path: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    doc: str | None = None,
) -> type[Body]:
    """The REST body of ``operation``: its fields less those in ``path`` (the
    URL carries them), with those in ``optional`` allowed to be left out;
    ``doc`` describes it in OpenAPI."""
    fields: Any = _fields(operation, path, optional)  # create_model types each keyword
    return create_model(name, __base__=Body, __doc__=doc or operation.__doc__, **fields)


def rest_query(operation: type[BaseModel], name: str, *, path: tuple[str, ...] = ()) -> type[Query]:
    """The query string of ``operation``: its fields less those in ``path``,
    read from text as ``Query`` does."""
    fields: Any = _fields(operation, path, ())  # create_model types each keyword
    return create_model(name, __base__=Query, __doc__=operation.__doc__, **fields)


def _fields(
    operation: type[BaseModel], path: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, tuple[Any, FieldInfo]]:
    unknown = (set(path) | set(optional)) - operation.model_fields.keys()
    if unknown:
        raise ValueError(f"{operation.__name__} has no fields {sorted(unknown)}")
    fields = {}
    for name, info in operation.model_fields.items():
        if name in path:
            continue
        if name in optional:
            fields[name] = (
                info.annotation | None,  # type: ignore[operator]  # annotation is a type here
                FieldInfo.merge_field_infos(info, default=None),
            )
        else:
            fields[name] = (info.annotation, info)
    return fields
