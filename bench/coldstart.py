"""Cold-start cost of each function: import + init in a fresh interpreter, against boto3 alone.

For every `functions/<name>/<name>/app.py` this starts a fresh interpreter (like a new
Lambda execution environment: `-S`, no site hooks; the layer, the function directory and
the installed packages on sys.path), times the import of the handler module — which
includes everything the module does at import time — and repeats that RUNS times. The
baseline is a handler that imports only boto3. Printed: the median per function and its
ratio to the baseline. Target (issue 2): every function <= 1.5x the baseline.

The last column adds what the handlers import lazily on their first request (boto3 and a
client, the Billomat client, the function's own modules): the whole cost before the first
answer, printed for honesty next to the import + init figure the target applies to.

Run: `make bench` or `.venv/bin/python bench/coldstart.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5

TIMER = """
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""

# What handlers import on their first request instead of at init (lazy imports): boto3, the
# Billomat client and every module of the function's own package. Timing init plus these shows
# the whole cost a cold container pays before its first answer.
FIRST_REQUEST_TIMER = """
import importlib, pkgutil, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import {module}
import boto3
boto3.client("sqs", region_name="eu-central-1")
import autopilot.billomat.client
package = importlib.import_module("{package}")
for info in pkgutil.iter_modules(package.__path__):
    importlib.import_module("{package}." + info.name)
print(time.perf_counter() - start)
"""


def measure(module: str, paths: list[str], runs: int, timer: str = TIMER) -> list[float]:
    """Seconds to import ``module`` in ``runs`` fresh interpreters."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_FUNCTION_NAME": "coldstart-bench",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }
    samples = []
    for _ in range(runs):
        code = timer.format(paths=paths, module=module, package=module.split(".")[0])
        out = subprocess.run(
            [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per case (>= 5)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    site_packages = sysconfig.get_paths()["purelib"]
    layer = str(ROOT / "layers" / "shared")

    with tempfile.TemporaryDirectory() as baseline_dir:
        Path(baseline_dir, "baseline_app.py").write_text(
            "import boto3\n\ndef lambda_handler(event, context):\n    return {}\n"
        )
        baseline = statistics.median(measure("baseline_app", [baseline_dir, site_packages], runs))

    print(
        f"cold start: import + init, median of {runs} fresh interpreters (python -S, .pyc cached)"
    )
    print(
        f"{'function':<16}{'median ms':>10}{'ratio':>8}  target <= {TARGET_RATIO}x"
        f"   {'+ first-request imports':>24}"
    )
    print(f"{'baseline boto3':<16}{baseline * 1000:>10.1f}{1.0:>8.2f}")
    worst = 0.0
    for app in sorted(ROOT.glob("functions/*/*/app.py")):
        name = app.parent.name
        paths = [str(app.parent.parent), layer, site_packages]
        median = statistics.median(measure(f"{name}.app", paths, runs))
        ratio = median / baseline
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER"
        first = statistics.median(measure(f"{name}.app", paths, runs, FIRST_REQUEST_TIMER))
        print(
            f"{name:<16}{median * 1000:>10.1f}{ratio:>8.2f}  {verdict:<4}"
            f"   {first * 1000:>12.1f} ms ({first / baseline:.2f}x)"
        )
    print(f"worst ratio: {worst:.2f} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
