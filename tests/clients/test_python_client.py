"""clients/python: the committed generated client is what the generator makes from referral's document today, and
the batching helper splits by items and by bytes."""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path

from tas_mis_client import chunk

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"


def _generator():
    spec = importlib.util.spec_from_file_location("mis_client_generate", CLIENT / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mis_client_generate"] = module
    spec.loader.exec_module(module)
    return module


def _differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"only in committed: {n}" for n in compared.left_only] + [f"only in new: {n}" for n in compared.right_only]
    found += [f"differs: {n}" for n in compared.diff_files]
    for name in compared.common_dirs:
        found += _differences(left / name, right / name)
    return found


def test_the_committed_client_is_generated_from_the_current_document(tmp_path):
    fresh = tmp_path / "generated"
    _generator().generate(fresh)
    assert _differences(CLIENT / "tas_mis_client" / "generated", fresh) == [], (
        "run: .venv/bin/python clients/python/generate.py"
    )


def test_chunks_keep_to_the_item_and_byte_limits():
    items = [{"mis_record_id": f"r{i}", "summary": "x" * 100} for i in range(2500)]
    assert [len(b) for b in chunk(items)] == [1000, 1000, 500]
    import json

    small = list(chunk(items, max_bytes=60_000))
    assert all(len(json.dumps({"items": b}, separators=(",", ":"))) <= 60_000 for b in small)
    assert len(small) > 3 and [i for b in small for i in b] == items
