"""Write the API's OpenAPI schema as JSON without starting a server or opening a database:
`python -m evolab.server.openapi web/openapi.json` (the web build generates its TypeScript types from it).

The file is only rewritten when its text changes, so `make` rebuilds the web UI only when the API did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from evolab.server.app import api_app


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document of every route `create_app` serves."""
    return api_app().openapi()


def openapi_text() -> str:
    """The schema as the file holds it: indented, keys in FastAPI's order (stable from run to run)."""
    return json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"


def write_openapi(path: str | Path) -> bool:
    """Write the schema to `path` unless it already holds exactly that; whether it wrote."""
    path = Path(path)
    text = openapi_text()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m evolab.server.openapi [PATH]`: the schema to PATH, or to standard output without one."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m evolab.server.openapi [PATH]", file=sys.stderr)
        return 2
    if not args:
        sys.stdout.write(openapi_text())
    elif write_openapi(args[0]):
        print(f"wrote {args[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
