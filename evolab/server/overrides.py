"""The `config` of a request as a typed model: every setting of `EvolutionConfig`, nested the same way,
each optional, with its type and range, and nothing else.

A request's overrides are merged into a preset and validated by `EvolutionConfig` itself; this model is
what the OpenAPI schema shows of them (so a generated client knows every key, type and range) and what
refuses, before any merge, a key that does not exist or a value of the wrong type. It is strict: a string
is not taken for a number, nor a number for a boolean, as the schema says.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, create_model
from pydantic.fields import FieldInfo

from evolab.config import EvolutionConfig


def _integral(value: Any) -> Any:
    """A float with no fractional part as the int it is: JSON Schema's "integer" includes 3.0, and the
    strict models take no other number for an int."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(_integral)]
"""An int as JSON Schema's "integer" means it, in a strict model: 3 and 3.0, not "3", 3.5 or true."""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent means "the preset's value", not a value of null


def overrides_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional (absent: keep the preset's value) and no cross-field checks,
    keeping each field's type, range and description; sub-models likewise."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = overrides_model(annotation)
        elif annotation is int:
            annotation = JsonInt
        field: FieldInfo = copy.copy(info)  # the constraints (ge, le, ...) and the description
        field.default, field.default_factory = None, None
        field.annotation = annotation
        field.json_schema_extra = _no_default
        fields[name] = (annotation, field)
    return create_model(
        f"{model.__name__}Overrides",
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=f"Overrides of `{model.__name__}`: any of its settings, each as it is there.",
        **fields,
    )


ConfigOverrides = overrides_model(EvolutionConfig)
"""A request's `config`: `EvolutionConfig`'s settings, each optional."""


def as_dict(overrides: BaseModel) -> dict[str, Any]:
    """The settings a request gave, nested, without the ones it left out."""
    return overrides.model_dump(exclude_unset=True)
