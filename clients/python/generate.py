"""Regenerate `tas_mis_client/generated/` from referral's OpenAPI document: the MIS client routes only (push, read
back, webhooks), with the schemas they use. Run from the repository root after changing those routes:

    .venv/bin/python clients/python/generate.py

openapi-python-client is pinned (requirements-dev.txt); tests/clients/test_python_client.py fails when the
committed code differs from what this writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = HERE / "tas_mis_client" / "generated"
OPERATIONS = (
    "push_concerns",
    "list_mis_concern_statuses",
    "get_mis_concern_status",
    "subscribe_webhook",
    "list_webhooks",
    "get_webhook",
    "delete_webhook",
    "list_webhook_deliveries",
    "replay_webhook_delivery",
)


def mis_document() -> dict[str, Any]:
    """Referral's document cut down to the MIS client's operations and the schemas they reach."""
    from referral.config import ReferralSettings
    from referral.main import create_app

    with tempfile.TemporaryDirectory() as tmp:
        spec = create_app(ReferralSettings(env="test", dev_key_dir=Path(tmp), mis_key_dir=Path(tmp))).openapi()
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        kept = {method: op for method, op in item.items() if op.get("operationId") in OPERATIONS}
        if kept:
            paths[path] = kept
    assert sorted(op["operationId"] for item in paths.values() for op in item.values()) == sorted(OPERATIONS)
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set()

    def reach(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in wanted:
                    wanted.add(name)
                    reach(schemas[name])
            for value in node.values():
                reach(value)
        elif isinstance(node, list):
            for value in node:
                reach(value)

    reach(paths)
    components = {"schemas": {n: schemas[n] for n in sorted(wanted)}}
    if "securitySchemes" in spec["components"]:
        components["securitySchemes"] = spec["components"]["securitySchemes"]
    info = {**spec["info"], "title": "TAS MIS client", "description": "The routes a school MIS uses."}
    return {"openapi": spec["openapi"], "info": info, "paths": paths, "components": components}


def generate(target: Path = TARGET) -> None:
    generator = Path(sys.executable).parent / "openapi-python-client"
    with tempfile.TemporaryDirectory() as tmp:
        spec, config, out = Path(tmp) / "mis.json", Path(tmp) / "config.yaml", Path(tmp) / "generated"
        spec.write_text(json.dumps(mis_document(), indent=1, sort_keys=True))
        config.write_text("post_hooks: []\nproject_name_override: generated\npackage_name_override: generated\n")
        argv = [str(generator), "generate", "--path", str(spec), "--meta", "none", "--config", str(config)]
        done = subprocess.run([*argv, "--output-path", str(out)], capture_output=True, text=True, check=False)
        if done.returncode != 0 or "warning" in done.stdout.lower():
            raise SystemExit(done.stdout + done.stderr)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out, target)


if __name__ == "__main__":
    generate()
    print(f"wrote {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}")
