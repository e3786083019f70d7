"""Making many instances of a frozen, slotted dataclass fast, for value types a run makes by the hundred
every generation (genomes, results) from values already known to be good."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def slot_constructor(cls: type[T]) -> Callable[..., T]:
    """A function taking `cls`'s field values in order and returning an instance, without `__init__`:
    no `__post_init__` checks or conversions, and each slot set through its own descriptor instead of the
    frozen class's `__setattr__` detour (about half the time of `cls(...)`).

    The function is generated once per class, as `dataclasses` generates `__init__`.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    namespace.update({f"_set_{i}": cls.__dict__[name].__set__ for i, name in enumerate(names)})
    params = ", ".join(f"v{i}" for i in range(len(names)))
    lines = [f"def make({params}):", "    obj = _new(_cls)"]
    lines += [f"    _set_{i}(obj, v{i})" for i in range(len(names))]
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # source made from the class's own field names only
    make = namespace["make"]
    make.__doc__ = f"A {cls.__name__} from its field values in order (see `slot_constructor`)."
    return make
