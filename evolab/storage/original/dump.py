"""Reading an original-app dump: the file (plain or gzip'd JSON, size-limited, sniffed before it is parsed)
and its shape, validated into frozen records (reference §6.2), naming the record and field at fault.

A dump is `{"runs": [SavedRun, ...], "generations": [GenerationData, ...]}`: every record of the two
IndexedDB stores of `EvolutionLabDB`, exactly as the app stored them. Genomes stay dicts here (their own
parser, `evolab.storage.original.genomes`, names their fields); everything else is checked by shape.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evolab.errors import InvalidInput

MAX_BYTES = 2 * 1024**3
"""Largest dump read (uncompressed): the original app keeps about 1 MB a generation of 100 creatures, so
this is some 2000 generations; anything larger is refused before it is parsed."""
_SNIFF = 4096
DISQUALIFICATIONS = ("frequency_exceeded", "physics_explosion", "nan_position")


class DumpError(InvalidInput):
    """An original-app dump (or an import file) cannot be read or is malformed: the message names the
    record and field at fault. Nothing was written."""


# -- the file -----------------------------------------------------------------------------------------


def read_document(path: Path, *, max_bytes: int = MAX_BYTES) -> Any:
    """The JSON document in `path` ("-": standard input), gzip'd or not.

    The first bytes are checked before anything else is read: a file that does not start like a JSON
    object is refused at once, whatever its size, and one larger than `max_bytes` is refused before it
    is parsed.

    Raises:
        DumpError: unreadable, too large, not JSON, not a JSON object.
    """
    try:
        raw = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    except OSError as err:
        raise DumpError(f"cannot read ({err.strerror})") from None
    try:
        head = raw.read(2)
        stream: io.BufferedIOBase | gzip.GzipFile = raw
        rest = head
        if head == b"\x1f\x8b":  # gzip's magic number
            stream = gzip.GzipFile(fileobj=_Prefixed(head, raw))
            rest = b""
        data = _read_limited(stream, rest, max_bytes)
    except OSError as err:
        raise DumpError(f"cannot read ({err.strerror or err})") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise DumpError(f"not a complete gzip file ({err})") from None
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise DumpError("not a text file (expected JSON)") from None
    except json.JSONDecodeError as err:
        raise DumpError(f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except RecursionError:
        raise DumpError("not valid JSON (nested too deeply)") from None


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read."""

    def __init__(self, prefix: bytes, stream: Any) -> None:
        self._prefix, self._stream = prefix, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n], self._prefix = self._prefix[:n], self._prefix[n:]
            return n
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _read_limited(stream: Any, start: bytes, max_bytes: int) -> bytes:
    chunks = [start]
    size = len(start)
    sniffed = False
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if not sniffed and size >= _SNIFF:
            _sniff(b"".join(chunks)[:_SNIFF])
            sniffed = True
        if size > max_bytes:
            raise DumpError(f"larger than {max_bytes // 1024**2} MB uncompressed; refused before reading it all")
    data = b"".join(chunks)
    if not sniffed:
        _sniff(data[:_SNIFF])
    return data


def _sniff(head: bytes) -> None:
    """Refuse at once what cannot be JSON (junk, another kind of file), before reading the rest."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise DumpError("not valid JSON (the file is empty)")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(text) - 3:  # not just a character cut at the end of the sniffed bytes
            raise DumpError("not a text file (expected JSON)") from None
    if text[:1] not in b'{["-0123456789tfn':
        raise DumpError("not valid JSON (it does not start like a JSON document)")


# -- the records --------------------------------------------------------------------------------------


class _Shape(BaseModel):
    # the app wrote more fields in some versions: unknown ones are ignored, known ones checked strictly
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, allow_inf_nan=False)


class _Vector(_Shape):
    x: float
    y: float
    z: float


class PelletDatum(_Shape):
    """A pellet the creature's simulation spawned: where (3 decimals) and the frame it was collected."""

    position: _Vector
    collectedAtFrame: int | None = Field(ge=0)  # noqa: N815 - the app's field name


class CompactResult(_Shape):
    """One creature's result as the app stored it (`CompactCreatureResult`)."""

    genome: dict[str, Any]
    fitness: float
    pellets: int = Field(ge=0)
    disqualified: Literal["frequency_exceeded", "physics_explosion", "nan_position"] | None
    frames: list[list[float]]
    pelletData: list[PelletDatum]  # noqa: N815


class GenerationRecord(_Shape):
    """A record of the `generations` store."""

    runId: str = Field(min_length=1)  # noqa: N815
    generation: int = Field(ge=0)
    results: list[CompactResult]


class FitnessEntry(_Shape):
    generation: int = Field(ge=0)
    best: float | None
    average: float | None
    worst: float | None


class CreatureTypeEntry(_Shape):
    generation: int = Field(ge=0)
    nodeCountDistribution: list[Annotated[list[int], Field(min_length=2, max_length=2)]]  # noqa: N815


class RunRecord(_Shape):
    """A record of the `runs` store (`SavedRun`)."""

    id: str = Field(min_length=1)
    name: str | None = None
    startTime: float = Field(ge=0)  # noqa: N815 - epoch milliseconds
    config: dict[str, Any]
    generationCount: int = Field(ge=0)  # noqa: N815
    fitnessHistory: list[FitnessEntry] | None = None  # noqa: N815
    creatureTypeHistory: list[CreatureTypeEntry] | None = None  # noqa: N815
    bestCreature: dict[str, Any] | None = None  # noqa: N815
    longestSurvivor: dict[str, Any] | None = None  # noqa: N815


class _Dump(_Shape):
    runs: list[RunRecord]
    generations: list[GenerationRecord]


@dataclass(frozen=True, slots=True, eq=False)
class OriginalDump:
    """A dump whose records all have the app's shapes (genomes and cross-references not checked yet)."""

    runs: tuple[RunRecord, ...]
    generations: tuple[GenerationRecord, ...]


def is_original_dump(document: Any) -> bool:
    """Whether a parsed JSON document looks like an original-app dump rather than an evolab export."""
    return isinstance(document, dict) and "format" not in document and ("runs" in document or "generations" in document)


def parse_dump(document: Any) -> OriginalDump:
    """Check a parsed dump's shape: both stores present, every record with the app's fields and types.

    Raises:
        DumpError: the first problem, naming the record and field (`generations[12].results[3].fitness: ...`).
    """
    from evolab.storage.transfer import _describe  # one wording for every import file's shape errors

    if not isinstance(document, dict):
        raise DumpError(f"not an original-app dump (expected a JSON object, got {type(document).__name__})")
    for store in ("runs", "generations"):
        if store not in document:
            raise DumpError(f"{store}: missing (a dump holds both stores of EvolutionLabDB, runs and generations)")
    try:
        dump = _Dump.model_validate(document)
    except ValidationError as err:
        raise DumpError(_describe(err)) from None
    return OriginalDump(tuple(dump.runs), tuple(dump.generations))
