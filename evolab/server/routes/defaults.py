"""The configuration a new run starts from and the values each numeric setting accepts, so a client shows
the server's defaults and limits rather than copies of them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from fastapi import APIRouter

from evolab.config import EvolutionConfig
from evolab.server.schemas import DEFAULT_PRESET, DefaultsDoc, FieldRange

router = APIRouter(prefix="/api/defaults", tags=["presets"])


@router.get("", response_model=DefaultsDoc, summary="A new run's configuration and the range of every numeric setting")
def defaults() -> DefaultsDoc:
    return DefaultsDoc(
        preset=DEFAULT_PRESET, config=EvolutionConfig.from_preset(DEFAULT_PRESET), ranges=config_ranges()
    )


@cache  # the configuration's schema is fixed for the life of the process
def config_ranges() -> dict[str, FieldRange]:
    """Every numeric field of `EvolutionConfig` by its dotted path, with the bounds its JSON schema gives."""
    schema = EvolutionConfig.model_json_schema()
    return dict(_ranges(schema, schema.get("$defs", {}), ""))


def _ranges(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> Iterator[tuple[str, FieldRange]]:
    for name, prop in schema.get("properties", {}).items():
        # a nested model is a $ref, bare or (beside a default, in some pydantic versions) inside allOf
        refs = [prop.get("$ref"), *(p.get("$ref") for p in prop.get("allOf", []))]
        ref = next((r for r in refs if r), None)
        if ref is not None:
            yield from _ranges(defs[ref.rsplit("/", 1)[-1]], defs, f"{prefix}{name}.")
        elif prop.get("type") in ("integer", "number"):
            yield (
                f"{prefix}{name}",
                FieldRange(
                    type=prop["type"],
                    minimum=prop.get("minimum"),
                    exclusive_minimum=prop.get("exclusiveMinimum"),
                    maximum=prop.get("maximum"),
                    exclusive_maximum=prop.get("exclusiveMaximum"),
                ),
            )
