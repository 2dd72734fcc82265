"""The public routing of the one host, derived from the apps' own route tables, and what deploy/nginx/nginx.conf and
deploy/k8s/ingress.yaml actually route (nginx's and the Ingress's location rules, applied to concrete paths).

Every service under services/ counts, found on disk: a service added later (insights for `/v1/insights`) is
routed or the tests fail. `web` takes everything that is not an API path. The operational paths every app serves
(health, readiness, metrics, API docs) are for the cluster, not the public host.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from starlette.routing import BaseRoute, Mount

ROOT = Path(__file__).resolve().parents[2]
WEB = "web"
"""The service that takes every path that is not an API path (docs/architecture.md §4)."""
OPERATIONAL = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
"""Served by every app on its own port for probes, scrapers and developers; never through the public host."""
NGINX_ITSELF = "nginx"
"""What nginx answers itself (its own /healthz, a 404), in place of an upstream."""


def services() -> list[str]:
    """Every service of the repository: services/<name>/<name>/main.py."""
    return sorted(
        p.parent.parent.name for p in (ROOT / "services").glob("*/*/main.py") if p.parent.name == p.parent.parent.name
    )


def settings_class(service: str) -> type:
    config = importlib.import_module(f"{service}.config")
    return next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")


@cache
def route_paths(service: str, key_dir: Path) -> tuple[str, ...]:
    """Every path the service's app answers (route templates, mounts as `<prefix>/{path}`)."""
    app = importlib.import_module(f"{service}.main").create_app(
        settings_class(service)(env="test", dev_key_dir=key_dir)
    )

    def walk(routes: list[BaseRoute], prefix: str = "") -> list[str]:
        found = []
        for route in routes:
            nested = getattr(route, "original_router", None)  # FastAPI >= 0.16x wraps included routers
            if nested is not None:
                found += walk(nested.routes, prefix)
            elif isinstance(route, Mount):
                found.append(f"{prefix}{route.path}/{{path}}")
            elif getattr(route, "path", None):
                found.append(prefix + route.path)
        return found

    return tuple(sorted(set(walk(app.routes))))


def is_operational(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPERATIONAL)


def public_paths(service: str, key_dir: Path) -> list[str]:
    return [p for p in route_paths(service, key_dir) if not is_operational(p)]


def prefix_of(path: str) -> str:
    """The routing prefix of an API path: `/v1/<first segment>` under /v1, else `/<first segment>` (`/oruk`)."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[:2] if parts[0] == "v1" else parts[:1])


def sample(path: str) -> str:
    """A concrete path for a route template: every parameter a segment (a `:path` parameter two)."""
    return re.sub(r"\{[^}:]+(:path)?\}", lambda m: "x/y" if m.group(1) else "x", path)


def expected_prefixes(key_dir: Path) -> dict[str, str]:
    """API prefix → the service that serves it, from the route tables (web's paths are the catch-all)."""
    routes: dict[str, str] = {}
    for service in services():
        if service == WEB:
            continue
        for path in public_paths(service, key_dir):
            prefix = prefix_of(path)
            assert routes.setdefault(prefix, service) == service, (
                f"{prefix} is served by {routes[prefix]} and {service}"
            )
    return routes


# --------------------------------------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class Location:
    modifier: str  # "=", "~", "^~" or "" (prefix)
    pattern: str
    upstream: str  # a service name, or NGINX_ITSELF


def _blocks(text: str, keyword: str) -> list[tuple[str, str]]:
    """`keyword <args> { body }` at any depth: (args, body), braces inside quotes ignored."""
    found = []
    for match in re.finditer(rf"(?<![\w$]){keyword}\s+([^{{;]*?)\s*\{{", text):
        depth, quote, i = 1, None, match.end()
        while depth:
            ch = text[i]
            if quote:
                quote = None if ch == quote and text[i - 1] != "\\" else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            i += 1
        found.append((match.group(1), text[match.end() : i - 1]))
    return found


def nginx_locations(text: str | None = None) -> list[Location]:
    text = text if text is not None else (ROOT / "deploy/nginx/nginx.conf").read_text()
    text = re.sub(r"#[^\n]*", "", text)
    locations = []
    for args, body in _blocks(text, "location"):
        modifier, _, pattern = args.strip().rpartition(" ")
        upstream = re.search(r"set \$upstream ([a-z][a-z0-9-]*):\d+;", body) or re.search(
            r"proxy_pass https?://([a-z][a-z0-9-]*)[:/;]", body
        )
        locations.append(Location(modifier.strip(), pattern, upstream.group(1) if upstream else NGINX_ITSELF))
    return locations


def nginx_route(path: str, locations: list[Location]) -> str | None:
    """Where nginx sends `path` (its location selection: an exact match; else the longest prefix, unless a regex
    location matches first in file order, or that prefix is `^~`); None when no location matches."""
    for loc in locations:
        if loc.modifier == "=" and loc.pattern == path:
            return loc.upstream
    prefixes = [loc for loc in locations if loc.modifier in ("", "^~") and path.startswith(loc.pattern)]
    longest = max(prefixes, key=lambda loc: len(loc.pattern), default=None)
    if longest is not None and longest.modifier == "^~":
        return longest.upstream
    for loc in locations:
        if loc.modifier in ("~", "~*") and re.search(loc.pattern, path, re.I if loc.modifier == "~*" else 0):
            return loc.upstream
    return longest.upstream if longest else None


# --------------------------------------------------------------------------------------------------- Ingress


def ingress_paths(doc: dict[str, Any] | None = None) -> dict[str, str]:
    """path → backend Service, from deploy/k8s/ingress.yaml (pathType Prefix only)."""
    if doc is None:
        docs = yaml.safe_load_all((ROOT / "deploy/k8s/ingress.yaml").read_text())
        doc = next(d for d in docs if d and d["kind"] == "Ingress")
    paths = {}
    for rule in doc["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            assert p["pathType"] == "Prefix", p
            assert p["path"] not in paths, f"{p['path']} is listed twice"
            paths[p["path"]] = p["backend"]["service"]["name"]
    return paths


def ingress_route(path: str, paths: dict[str, str]) -> str | None:
    """Kubernetes `Prefix` matching: the longest path whose elements are a prefix of the request's elements."""
    elements = [e for e in path.split("/") if e]
    best, chosen = -1, None
    for prefix, backend in paths.items():
        wanted = [e for e in prefix.split("/") if e]
        if elements[: len(wanted)] == wanted and len(wanted) > best:
            best, chosen = len(wanted), backend
    return chosen
