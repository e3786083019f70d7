"""`slot_constructor`: instances of frozen, slotted dataclasses made without `__init__`, equal to the usual ones."""

from __future__ import annotations

import dataclasses

import pytest

from evolab.slots import slot_constructor
from evolab.storage.records import CreatureResult, make_creature_result


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float = 0.0
    label: str = "origin"


def test_an_instance_from_field_values_equals_the_one_init_makes() -> None:
    make = slot_constructor(Point)
    assert make(1.5, -2.0, "p") == Point(1.5, -2.0, "p")
    values = ("cr_0000000000000001", 3, 0, 12.5, 2, None, 4, 3.25, 1.5, 0.5, (1, 0, 1))
    assert make_creature_result(*values) == CreatureResult(*values)


def test_instances_stay_frozen() -> None:
    point = slot_constructor(Point)(1.0, 2.0, "p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3.0  # type: ignore[misc]


def test_every_field_is_required_in_order() -> None:
    make = slot_constructor(Point)
    with pytest.raises(TypeError):
        make(1.0, 2.0)  # defaults are not applied: values come from code that has them all
