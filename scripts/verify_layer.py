"""Verify the built shared layer against the hash lock (``make build`` runs it after ``sam build``).

On an x86_64 machine ``sam build`` hash-checks what pip downloads for the build machine, then
fetches the arm64 wheels of binary packages (pydantic-core) as ``name==version`` without hashes.
This script closes that gap:

1. ``pip download --require-hashes`` of every pin of ``layers/shared/requirements.txt`` for the
   Lambda runtime (CPython 3.13, manylinux aarch64): pip checks each wheel against the lock.
2. For every ``*.dist-info/RECORD`` in the built layer: the wheel of the same name and version
   must have been downloaded, the layer's RECORD must list exactly the wheel's files with the
   wheel's hashes, and every file in the layer must hash to what RECORD says.
3. Every locked package is in the layer; no other distribution is, and no file outside those
   RECORDs except the layer's own sources (``layers/shared``: ``autopilot/``, the lock).

    .venv/bin/python scripts/verify_layer.py [--lock FILE] [--layer DIR] [--source DIR]

Exit status: 0 verified, 1 the layer does not match the lock, 2 cannot check (no build, or the
download failed; it needs the network to PyPI).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOCK = ROOT / "layers" / "shared" / "requirements.txt"
DEFAULT_LAYER = ROOT / ".aws-sam" / "build" / "SharedLayer" / "python"

# The platforms aws-lambda-builders offers pip for python3.13 on arm64 (glibc 2.34), so pip picks
# the same wheel as `sam build` did; the lock itself is resolved for aarch64-manylinux_2_28.
PLATFORMS = ("manylinux_2_34_aarch64", "manylinux_2_28_aarch64", "manylinux2014_aarch64")
PIP_TIMEOUT_S = 300

# Files of a dist-info that an installer writes (not part of the wheel), and bytecode.
INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Signatures of RECORD inside a wheel (not listed in it).
RECORD_SIGNATURES = {"RECORD.jws", "RECORD.p7s"}
# Hash algorithms RECORD may not use (wheel spec: sha256 or stronger).
WEAK_HASHES = {"md5", "sha1"}

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
DIST_INFO = re.compile(r"^(?P<name>[^-/]+)-(?P<version>[^-/]+)\.dist-info$")


class LayerError(Exception):
    """A problem that prevents checking at all (exit status 2)."""


@dataclass(frozen=True)
class WheelFiles:
    """A downloaded (hash-checked) wheel: its files as installed, path -> ``algo=digest``."""

    name: str
    version: str
    filename: str
    files: dict[str, str]
    problems: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        _, _, _, tags = parse_wheel_filename(self.filename)
        platforms = sorted({tag.platform for tag in tags})
        if platforms == ["any"]:
            return "pure-python wheel"
        if all(p.endswith("aarch64") for p in platforms):
            return "aarch64 wheel"
        return f"{'.'.join(platforms)} wheel"


@dataclass
class Report:
    ok: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_lock(lock: Path) -> dict[str, str]:
    """The lock's pins: canonical name -> version."""
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def digest(data: bytes, algorithm: str) -> str:
    """RECORD's hash notation: ``algo=<urlsafe base64 without padding>``."""
    raw = hashlib.new(algorithm, data).digest()
    return f"{algorithm}=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_record(text: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        path, hash_, size = ([*row, "", ""])[:3]
        rows.append((path, hash_, size))
    return rows


def installed_path(path: str) -> str:
    """Where a wheel path lands in the layer: ``*.data/purelib|platlib/x`` -> ``x``."""
    parts = PurePosixPath(path).parts
    if len(parts) > 2 and parts[0].endswith(".data") and parts[1] in {"purelib", "platlib"}:
        return PurePosixPath(*parts[2:]).as_posix()
    return path


def compared(path: str) -> bool:
    """Whether a RECORD entry takes part in the comparison (not installer files, not bytecode)."""
    parts = PurePosixPath(path).parts
    if "__pycache__" in parts or path.endswith(".pyc"):
        return False
    return not (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALLER_FILES)


def safe_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def read_wheel(wheel: Path) -> WheelFiles:
    """A wheel's files with the hashes of their actual bytes, checked against its own RECORD."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    problems: list[str] = []
    files: dict[str, str] = {}
    with zipfile.ZipFile(wheel) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        records = [
            info.filename
            for info in members
            if re.fullmatch(r"[^/]+\.dist-info/RECORD", info.filename)
        ]
        if len(records) != 1:
            raise LayerError(f"{wheel.name}: expected one *.dist-info/RECORD, found {len(records)}")
        record_name = records[0]
        listed = {
            path: hash_ for path, hash_, _ in parse_record(archive.read(record_name).decode())
        }
        for info in members:
            path = info.filename
            if path == record_name or PurePosixPath(path).name in RECORD_SIGNATURES:
                continue
            expected = listed.get(path)
            if not expected:
                problems.append(f"{wheel.name}: {path} is not in the wheel's RECORD")
                continue
            algorithm = expected.split("=", 1)[0]
            if algorithm not in hashlib.algorithms_available or algorithm in WEAK_HASHES:
                problems.append(f"{wheel.name}: {path}: unusable hash {expected!r} in RECORD")
                continue
            actual = digest(archive.read(info), algorithm)
            if actual != expected:
                problems.append(f"{wheel.name}: {path} does not match the wheel's RECORD")
            files[installed_path(path)] = actual
        member_names = {info.filename for info in members}
        for path, hash_ in listed.items():
            if hash_ and path not in member_names:
                problems.append(f"{wheel.name}: RECORD lists {path}, not in the wheel")
    return WheelFiles(str(name), str(version), wheel.name, files, tuple(problems))


def _describe(paths: Iterable[str], limit: int = 5) -> str:
    ordered = sorted(paths)
    shown = ", ".join(ordered[:limit])
    return shown + (f" (+{len(ordered) - limit} more)" if len(ordered) > limit else "")


def _check_distribution(
    layer: Path, dist_info: Path, wheel: WheelFiles, owned: set[str]
) -> tuple[list[str], int]:
    """Problems of one installed distribution, and how many files were compared."""
    label = dist_info.name.removesuffix(".dist-info")
    problems: list[str] = [f"{label}: {p}" for p in wheel.problems]
    record = parse_record((dist_info / "RECORD").read_text(encoding="utf-8"))
    owned.add((dist_info / "RECORD").relative_to(layer).as_posix())
    installed: dict[str, tuple[str, str]] = {}
    for path, hash_, size in record:
        if not safe_relative(path):
            problems.append(f"{label}: RECORD entry outside the layer: {path!r}")
            continue
        target = installed_path(path)
        owned.add(target)
        if compared(target):
            installed[target] = (hash_, size)

    expected = {path: hash_ for path, hash_ in wheel.files.items() if compared(path)}
    missing = expected.keys() - installed.keys()
    extra = installed.keys() - expected.keys()
    differing = {p for p in expected.keys() & installed.keys() if installed[p][0] != expected[p]}
    if missing:
        problems.append(
            f"{label}: files of the wheel not in the layer's RECORD: {_describe(missing)}"
        )
    if extra:
        problems.append(
            f"{label}: files in the layer's RECORD not in the wheel: {_describe(extra)}"
        )
    if differing:
        problems.append(
            f"{label}: RECORD hashes differ from the locked wheel {wheel.filename}: "
            f"{_describe(differing)}"
        )

    bad_bytes: list[str] = []
    absent: list[str] = []
    for path, (hash_, size) in sorted(installed.items()):
        file = layer / path
        if not file.is_file():
            absent.append(path)
            continue
        algorithm = hash_.split("=", 1)[0]
        if not hash_ or algorithm not in hashlib.algorithms_available or algorithm in WEAK_HASHES:
            problems.append(f"{label}: {path}: no usable hash in the layer's RECORD ({hash_!r})")
            continue
        data = file.read_bytes()
        if digest(data, algorithm) != hash_ or (size and size != str(len(data))):
            bad_bytes.append(path)
    if absent:
        problems.append(f"{label}: files in RECORD missing from the layer: {_describe(absent)}")
    if bad_bytes:
        problems.append(
            f"{label}: file bytes in the layer do not match RECORD: {_describe(bad_bytes)}"
        )
    return problems, len(installed)


def _listed_files(dist_info: Path) -> set[str]:
    """The files a rejected distribution accounts for: its dist-info and what its RECORD lists."""
    listed = {f"{dist_info.name}/{path}" for path in _layer_files(dist_info)}
    record = dist_info / "RECORD"
    if record.is_file():
        rows = parse_record(record.read_text(encoding="utf-8", errors="replace"))
        listed |= {installed_path(path) for path, _, _ in rows if safe_relative(path)}
    return listed


def _layer_files(layer: Path) -> set[str]:
    found: set[str] = set()
    for directory, _, names in os.walk(layer):
        for name in names:
            found.add((Path(directory) / name).relative_to(layer).as_posix())
    return found


def _source_files(source: Path | None) -> set[str]:
    if source is None or not source.is_dir():
        return set()
    return {
        path
        for path in _layer_files(source)
        if "__pycache__" not in PurePosixPath(path).parts and not path.endswith(".pyc")
    }


def verify_layer(
    pins: Mapping[str, str], wheels: Iterable[Path], layer: Path, source: Path | None = None
) -> Report:
    """Compare the built layer with the downloaded wheels of the lock (no network).

    ``pins``: canonical name -> version (``parse_lock``); ``wheels``: the hash-checked wheels;
    ``source``: the layer's source directory, whose own files (``autopilot/``, the lock) may be
    in the layer outside any RECORD.
    """
    report = Report()
    by_name: dict[str, WheelFiles] = {}
    for path in wheels:
        downloaded = read_wheel(path)
        by_name[canonicalize_name(downloaded.name)] = downloaded

    dist_infos: dict[str, list[Path]] = {}
    for entry in sorted(layer.iterdir()):
        match = DIST_INFO.match(entry.name)
        if entry.is_dir() and match:
            dist_infos.setdefault(canonicalize_name(match["name"]), []).append(entry)

    owned: set[str] = set()
    for name, entries in sorted(dist_infos.items()):
        if len(entries) > 1:
            report.errors.append(
                f"{name}: several versions in the layer: {_describe(e.name for e in entries)}"
            )
        for dist_info in entries:
            match = DIST_INFO.match(dist_info.name)
            assert match is not None
            label = f"{match['name']} {match['version']}"
            wheel = by_name.get(name)
            problem = None
            if name not in pins:
                problem = (
                    f"unexpected distribution in the layer (not in the lock): {dist_info.name}"
                )
            elif not same_version(match["version"], pins[name]):
                problem = f"{label}: the lock pins {name}=={pins[name]}"
            elif wheel is None or not same_version(wheel.version, match["version"]):
                problem = f"{label}: no hash-checked wheel of this version downloaded"
            elif not (dist_info / "RECORD").is_file():
                problem = f"{label}: no RECORD in {dist_info.name}"
            if problem is not None or wheel is None:
                report.errors.append(problem or f"{label}: no wheel")
                owned |= _listed_files(dist_info)  # reported once, as this distribution
                continue
            problems, count = _check_distribution(layer, dist_info, wheel, owned)
            if problems:
                report.errors.extend(problems)
            else:
                report.ok.append(f"ok {label} ({wheel.kind}, {count} files)")

    for name, version in sorted(pins.items()):
        if name not in dist_infos:
            report.errors.append(f"{name}=={version}: locked but not in the layer")

    allowed = _source_files(source)
    stray = {path for path in _layer_files(layer) - owned if path not in allowed}
    if stray:
        report.errors.append(
            f"files in the layer in no RECORD and not in {source or 'the layer source'}: "
            f"{_describe(stray, limit=10)}"
        )
    return report


def download_wheels(lock: Path, dest: Path) -> list[Path]:
    """``pip download`` the whole lock for the Lambda runtime; pip checks every hash."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
        "--require-hashes", "--no-deps", "--only-binary=:all:", *platforms,
        "--python-version", "3.13", "--implementation", "cp", "--abi", "cp313",
        "-r", str(lock), "-d", str(dest),
    ]  # fmt: skip
    try:
        result = subprocess.run(  # noqa: S603 - this interpreter's pip, fixed arguments
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LayerError(f"pip download timed out after {PIP_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise LayerError(f"pip download failed (exit {result.returncode}):\n{tail}")
    return sorted(dest.glob("*.whl"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="the hash lock")
    parser.add_argument("--layer", type=Path, default=DEFAULT_LAYER, help="the built layer dir")
    parser.add_argument(
        "--source", type=Path, help="the layer's source dir (default: the lock's directory)"
    )
    args = parser.parse_args(argv)
    lock: Path = args.lock
    layer: Path = args.layer
    source: Path = args.source or lock.parent

    if not lock.is_file():
        print(f"verify_layer: cannot check: no lock file {lock}", file=sys.stderr)
        return 2
    if not layer.is_dir():
        print(
            f"verify_layer: cannot check: no built layer {layer} (run `make build`)",
            file=sys.stderr,
        )
        return 2
    pins = parse_lock(lock)
    try:
        with tempfile.TemporaryDirectory(prefix="verify-layer-") as tmp:
            wheels = download_wheels(lock, Path(tmp))
            print(
                f"verify_layer: {len(wheels)} wheels of {lock.name} downloaded, hash-checked by pip"
            )
            report = verify_layer(pins, wheels, layer, source)
    except LayerError as exc:
        print(
            f"verify_layer: cannot check the layer: {exc}\n"
            "verify_layer: it downloads the locked wheels, so it needs the network to PyPI;"
            " pip's output above says whether a download failed or a hash did not match.",
            file=sys.stderr,
        )
        return 2

    for line in report.ok:
        print(line)
    if report.errors:
        for error in report.errors:
            print(f"FAIL {error}", file=sys.stderr)
        print(
            f"verify_layer: {layer} does NOT match {lock}: {len(report.errors)} problem(s)",
            file=sys.stderr,
        )
        return 1
    print(f"verify_layer: {len(report.ok)} packages in {layer} match the hash lock")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
