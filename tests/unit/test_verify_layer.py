"""scripts/verify_layer.py: the built layer against the lock's (hash-checked) wheels, offline.

A tiny wheel is built in tmp_path and "installed" the way aws-lambda-builders does (extracted,
``*.data/purelib`` moved to the top); the comparison runs on it without pip.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from scripts.verify_layer import main, parse_lock, verify_layer

FILES = {
    "tinypkg/__init__.py": b"VALUE = 1\n",
    "tinypkg/_native.so": bytes(range(256)) * 4,
    "tinypkg-1.2.3.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.2.3\n",
    "tinypkg-1.2.3.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n",
    "tinypkg-1.2.3.data/purelib/tinypkg_extra.py": b"EXTRA = 2\n",
}
RECORD = "tinypkg-1.2.3.dist-info/RECORD"
WHEEL_NAME = "tinypkg-1.2.3-cp313-cp313-manylinux_2_28_aarch64.whl"
PINS = {"tinypkg": "1.2.3"}


def record_hash(data: bytes) -> str:
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def record_text(files: dict[str, bytes]) -> str:
    lines = [f"{path},{record_hash(data)},{len(data)}" for path, data in files.items()]
    return "\n".join([*lines, f"{RECORD},,"]) + "\n"


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "wheels" / WHEEL_NAME
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
        archive.writestr(RECORD, record_text(FILES))
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The layer's source dir: its own package and the lock may be in the layer too."""
    root = tmp_path / "source"
    (root / "autopilot").mkdir(parents=True)
    (root / "autopilot" / "__init__.py").write_text("")
    (root / "requirements.txt").write_text(
        "tinypkg==1.2.3 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    )
    return root


@pytest.fixture
def layer(tmp_path: Path, wheel: Path, source: Path) -> Path:
    """The wheel extracted as aws-lambda-builders does, plus the layer's own sources."""
    root = tmp_path / "layer"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root)
    data = root / "tinypkg-1.2.3.data"
    shutil.copytree(data / "purelib", root, dirs_exist_ok=True)
    shutil.rmtree(data / "purelib")
    shutil.copytree(source, root, dirs_exist_ok=True)
    return root


def errors(layer: Path, wheel: Path, source: Path) -> list[str]:
    return verify_layer(PINS, [wheel], layer, source).errors


def test_matching_layer_passes(layer: Path, wheel: Path, source: Path) -> None:
    report = verify_layer(PINS, [wheel], layer, source)
    assert report.errors == []
    assert report.ok == ["ok tinypkg 1.2.3 (aarch64 wheel, 5 files)"]


def test_changed_byte_fails(layer: Path, wheel: Path, source: Path) -> None:
    native = layer / "tinypkg" / "_native.so"
    data = bytearray(native.read_bytes())
    data[10] ^= 1
    native.write_bytes(bytes(data))
    assert errors(layer, wheel, source) == [
        "tinypkg-1.2.3: file bytes in the layer do not match RECORD: tinypkg/_native.so"
    ]


def test_changed_file_with_rewritten_record_fails(layer: Path, wheel: Path, source: Path) -> None:
    """A consistent RECORD in the layer does not help: it must equal the locked wheel's."""
    files = dict(FILES)
    files["tinypkg/__init__.py"] = b"VALUE = 666\n"
    (layer / "tinypkg" / "__init__.py").write_bytes(files["tinypkg/__init__.py"])
    (layer / RECORD).write_text(record_text(files))
    (found,) = errors(layer, wheel, source)
    assert found.startswith("tinypkg-1.2.3: RECORD hashes differ from the locked wheel")
    assert found.endswith("tinypkg/__init__.py")


def test_missing_package_fails(layer: Path, wheel: Path, source: Path) -> None:
    pins = {**PINS, "other-pkg": "0.1"}
    assert verify_layer(pins, [wheel], layer, source).errors == [
        "other-pkg==0.1: locked but not in the layer"
    ]


def test_missing_file_fails(layer: Path, wheel: Path, source: Path) -> None:
    (layer / "tinypkg_extra.py").unlink()
    assert errors(layer, wheel, source) == [
        "tinypkg-1.2.3: files in RECORD missing from the layer: tinypkg_extra.py"
    ]


def test_extra_dist_info_fails(layer: Path, wheel: Path, source: Path) -> None:
    extra = layer / "sneaky-9.9.dist-info"
    extra.mkdir()
    (extra / "RECORD").write_text("sneaky.py,,\n")
    (layer / "sneaky.py").write_text("print('hi')\n")
    (layer / "unlisted.py").write_text("")
    assert errors(layer, wheel, source) == [
        "unexpected distribution in the layer (not in the lock): sneaky-9.9.dist-info",
        f"files in the layer in no RECORD and not in {source}: unlisted.py",
    ]


def test_stray_file_fails(layer: Path, wheel: Path, source: Path) -> None:
    (layer / "sitecustomize.py").write_text("import os\n")
    (found,) = errors(layer, wheel, source)
    assert found.startswith("files in the layer in no RECORD")
    assert found.endswith("sitecustomize.py")


def test_other_version_fails(layer: Path, wheel: Path, source: Path) -> None:
    assert verify_layer({"tinypkg": "1.2.4"}, [wheel], layer, source).errors == [
        "tinypkg 1.2.3: the lock pins tinypkg==1.2.4"
    ]


def test_parse_lock(source: Path) -> None:
    lock = source / "requirements.txt"
    lock.write_text(
        "# comment\nTyping_Extensions==4.16.0 \\\n    --hash=sha256:ab\n    # via x\nh11==0.16.0\n"
    )
    assert parse_lock(lock) == {"typing-extensions": "4.16.0", "h11": "0.16.0"}


def test_no_build_dir_cannot_check(tmp_path: Path, source: Path) -> None:
    lock = source / "requirements.txt"
    assert main(["--lock", str(lock), "--layer", str(tmp_path / "absent")]) == 2
