"""Test-wide environment: no real AWS, no network but loopback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each function directory holds a package of the same name (as Lambda sees it).
for function_dir in sorted((ROOT / "functions").iterdir()):
    if function_dir.is_dir() and str(function_dir) not in sys.path:
        sys.path.insert(0, str(function_dir))

# Set before any boto3/Powertools object is built (see reference/tooling.md §4 pitfalls).
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.setdefault("AWS_REGION", "eu-central-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "BillomatAutopilotTest")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
