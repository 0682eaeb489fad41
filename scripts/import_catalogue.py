"""Launcher of the catalogue import (``make import-catalogue``): run from a checkout.

Puts the shared layer and the function packages on ``sys.path`` (as ``local`` does for local
mode) and runs ``article_sync.catalogue_import``. See README, "Catalogue import".

    .venv/bin/python scripts/import_catalogue.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def search_path() -> list[str]:
    """The layer and every function directory, as Lambda and local mode see them."""
    functions = sorted(p for p in (ROOT / "functions").iterdir() if p.is_dir())
    return [str(ROOT / "layers" / "shared"), *(str(p) for p in functions)]


def main() -> int:
    for path in reversed(search_path()):
        if path not in sys.path:
            sys.path.insert(0, path)
    from article_sync.catalogue_import import main as import_catalogue

    return import_catalogue()


if __name__ == "__main__":
    raise SystemExit(main())
