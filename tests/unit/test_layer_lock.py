"""layers/shared/requirements.txt is a full hash lock of requirements.in (`make lock`).

Every line pinned with == and sha256 hashes; every top-level pin of requirements.in locked at its
version; the lock closed over the dependencies (from the installed distributions' metadata,
markers evaluated for the Lambda runtime: CPython 3.13 on Linux arm64); boto3/botocore not shipped.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
LOCK = LAYER / "requirements.txt"
TOP_LEVEL = LAYER / "requirements.in"

# boto3 comes with the Lambda runtime; the layer must not ship (or shadow) it.
NOT_SHIPPED = {"boto3", "botocore", "s3transfer"}

HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")

# Marker environment of the Lambda runtime the layer is built for (BuildMethod python3.13, arm64).
LAMBDA_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.13.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.13.0",
    "python_version": "3.13",
    "sys_platform": "linux",
}


@dataclass(frozen=True)
class Pin:
    name: NormalizedName
    version: str
    hashes: int


def logical_lines(text: str) -> list[str]:
    """Requirement lines with their `\\` continuations joined; comments and blanks dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].strip()
        continued = line.endswith("\\")
        current += " " + line.removesuffix("\\").strip()
        if not continued:
            if current.strip():
                lines.append(current.strip())
            current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def parse_lock(text: str) -> tuple[dict[NormalizedName, Pin], list[str]]:
    """The pins of a lock file, and a list of problems (lines not pinned == or without a hash)."""
    pins: dict[NormalizedName, Pin] = {}
    problems: list[str] = []
    for line in logical_lines(text):
        spec, *options = line.split()
        hashes = [o for o in options if HASH.fullmatch(o)]
        other = [o for o in options if not HASH.fullmatch(o)]
        if spec.startswith("-"):
            problems.append(f"not a pinned requirement: {line!r}")
            continue
        try:
            req = Requirement(spec)
        except ValueError as exc:
            problems.append(f"unparsable: {line!r} ({exc})")
            continue
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            problems.append(f"not pinned with ==: {spec!r}")
            continue
        if not hashes:
            problems.append(f"no --hash=sha256: for {spec!r}")
        if other:
            problems.append(f"unexpected options for {spec!r}: {other}")
        name = canonicalize_name(req.name)
        if name in pins:
            problems.append(f"locked twice: {name}")
        pins[name] = Pin(name, specs[0].version, len(hashes))
    return pins, problems


def top_level() -> list[Requirement]:
    return [Requirement(line) for line in logical_lines(TOP_LEVEL.read_text())]


def dependencies(name: str, extras: frozenset[str]) -> list[Requirement]:
    """What the installed distribution `name` needs on Lambda with these extras requested."""
    needed = []
    for spec in importlib.metadata.requires(name) or []:
        req = Requirement(spec)
        marker = req.marker or Marker("python_version >= '0'")
        if any(marker.evaluate({**LAMBDA_ENV, "extra": extra}) for extra in {"", *extras}):
            needed.append(req)
    return needed


@pytest.fixture(scope="module")
def lock() -> dict[NormalizedName, Pin]:
    pins, _ = parse_lock(LOCK.read_text())
    return pins


def test_every_line_is_pinned_with_hashes() -> None:
    pins, problems = parse_lock(LOCK.read_text())
    assert problems == []
    assert pins, "the lock is empty"


def test_the_parser_rejects_what_the_lock_must_not_hold() -> None:
    good = "--hash=sha256:" + "a" * 64
    _, problems = parse_lock(
        f"httpx==0.28.1 \\\n    {good}\n"
        "idna==3.20\n"
        f"anyio>=4 \\\n    {good}\n"
        f"-r other.txt\n"
        f"h11==0.* {good}\n"
    )
    assert len(problems) == 4, problems
    pins, problems = parse_lock(
        f"# header\nhttpx==0.28.1 \\\n    {good} \\\n    {good}\n    # via x\n"
    )
    assert problems == []
    assert pins == {"httpx": Pin(canonicalize_name("httpx"), "0.28.1", 2)}


def test_every_top_level_requirement_is_locked_at_its_version(
    lock: dict[NormalizedName, Pin],
) -> None:
    for req in top_level():
        name = canonicalize_name(req.name)
        assert name in lock, f"{req} of requirements.in is not in the lock (run `make lock`)"
        assert lock[name].version in req.specifier, (
            f"{req} of requirements.in, but the lock has {name}=={lock[name].version}"
        )


def test_the_lock_is_closed_over_its_dependencies(lock: dict[NormalizedName, Pin]) -> None:
    for pin in lock.values():
        installed = importlib.metadata.version(pin.name)
        assert installed == pin.version, (
            f"the venv has {pin.name}=={installed}, the lock {pin.version} (run `make venv`)"
        )
    # Each locked package with no extras, and the top-level requirements with theirs; then
    # whatever their dependencies (and the extras those ask for) reach.
    todo = [(name, frozenset[str]()) for name in lock]
    todo += [(canonicalize_name(r.name), frozenset(r.extras)) for r in top_level()]
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    missing: set[str] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for req in dependencies(name, extras):
            dep = canonicalize_name(req.name)
            if dep not in lock:
                missing.add(f"{dep} (needed by {name})")
                continue
            assert req.specifier.contains(lock[dep].version, prereleases=True), (
                f"{name} needs {req}, the lock has {dep}=={lock[dep].version}"
            )
            todo.append((dep, frozenset(req.extras)))
    assert not missing, f"not in the lock: {sorted(missing)} (run `make lock`)"


def test_boto3_is_not_shipped_in_the_layer(lock: dict[NormalizedName, Pin]) -> None:
    assert NOT_SHIPPED.isdisjoint(lock), sorted(NOT_SHIPPED & set(lock))
