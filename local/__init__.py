"""Dev-only tooling (never deployed): the Billomat sandbox, local mode and `make run`.

Importing it puts the shared layer and every function directory on ``sys.path``, the way
Lambda sees them (`/opt/python` and `/var/task`), so local mode runs the unchanged handlers.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lambda_search_path() -> list[str]:
    functions = sorted(p for p in (ROOT / "functions").iterdir() if p.is_dir())
    return [str(ROOT / "layers" / "shared"), *(str(p) for p in functions)]


for _path in reversed(_lambda_search_path()):
    if _path not in sys.path:
        sys.path.insert(0, _path)
