"""The one host routes every public route of every service to the service that serves it — through compose's nginx
(deploy/nginx/nginx.conf) and through the Kubernetes Ingress (deploy/k8s/ingress.yaml) alike — derived from the
apps' own route tables, so that a new route (or a new service) cannot be left unrouted; and it does not publish
the services' operational endpoints (issue 12.4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .routing import (
    NGINX_ITSELF,
    OPERATIONAL,
    WEB,
    expected_prefixes,
    ingress_paths,
    ingress_route,
    nginx_locations,
    nginx_route,
    prefix_of,
    public_paths,
    route_paths,
    sample,
    services,
)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dev-issuer")


def test_the_routing_covers_every_service_on_disk_and_derives_their_prefixes(key_dir):
    assert {"referral", "caseload", "notify"} <= set(services())
    prefixes = expected_prefixes(key_dir)
    # a few the design names, and the review queues that were once left out
    assert prefixes["/v1/concerns"] == prefixes["/v1/consent-overrides"] == "referral"
    assert prefixes["/v1/children"] == prefixes["/v1/break-glass"] == "caseload"
    assert prefixes["/v1/notifications"] == "notify"
    assert all(p.startswith("/v1/") or not p.startswith("/v1") for p in prefixes)


@pytest.mark.parametrize("service", services())
def test_nginx_sends_every_public_route_of_the_service_to_it(service, key_dir):
    locations = nginx_locations()
    unrouted = [
        f"{path} → {nginx_route(sample(path), locations)}"
        for path in public_paths(service, key_dir)
        if nginx_route(sample(path), locations) != service
    ]
    assert unrouted == [], f"deploy/nginx/nginx.conf does not send these routes of {service} to it"


@pytest.mark.parametrize("service", services())
def test_the_ingress_sends_every_public_route_of_the_service_to_it(service, key_dir):
    paths = ingress_paths()
    unrouted = [
        f"{path} → {ingress_route(sample(path), paths)}"
        for path in public_paths(service, key_dir)
        if ingress_route(sample(path), paths) != service
    ]
    assert unrouted == [], f"deploy/k8s/ingress.yaml does not send these routes of {service} to it"


def test_nginx_and_the_ingress_route_the_same_prefixes_and_nothing_else(key_dir):
    prefixes = expected_prefixes(key_dir)
    proxied = {loc.pattern: loc.upstream for loc in nginx_locations() if loc.upstream != NGINX_ITSELF}
    assert set(proxied.values()) <= set(services()), proxied
    listed = ingress_paths()
    assert {p: s for p, s in listed.items() if p != "/"} == prefixes, "the Ingress lists exactly the API prefixes"
    assert listed.get("/") == (WEB if WEB in services() else None)
    for path in [*prefixes, "/v1/unknown", "/v1/mission", "/nothing-here", "/"]:
        via_ingress = ingress_route(sample(path), listed)
        via_nginx = nginx_route(sample(path), nginx_locations())
        if path.startswith("/v1/") and path not in prefixes:
            assert via_nginx == NGINX_ITSELF, f"{path}: nginx answers an unknown API path itself (404), not {via_nginx}"
        else:
            assert via_nginx == via_ingress, (path, via_nginx, via_ingress)


@pytest.mark.parametrize("service", services())
def test_the_operational_endpoints_of_the_service_are_not_public(service, key_dir):
    """Health, readiness, metrics and API docs stay on each replica's own port: nginx answers them itself (its
    own /healthz, 404 for the rest), and the Ingress lists none of them. (Through the Ingress's catch-all they
    reach web, which serves no metrics or docs; in prod the services serve no docs either, see test_prod_lockdown.)"""
    locations = nginx_locations()
    listed = ingress_paths()
    served = [p for p in route_paths(service, key_dir) if p in OPERATIONAL]
    assert served, f"{service} serves none of {OPERATIONAL}?"
    for path in OPERATIONAL:
        assert nginx_route(path, locations) == NGINX_ITSELF, f"nginx publishes {path}"
        assert ingress_route(path, listed) in (None, WEB), f"the Ingress publishes {path} of an API service"
    assert not any(prefix_of(p) in OPERATIONAL for p in listed)


def test_web_takes_only_what_is_not_an_api_path(key_dir):
    if WEB not in services():
        pytest.fail("services/web is the catch-all of docs/architecture.md §4")
    prefixes = expected_prefixes(key_dir)
    clashes = [p for p in public_paths(WEB, key_dir) if p.startswith("/v1") or prefix_of(p) in prefixes]
    assert clashes == []


NGINX_RULES = """
server {
  location = /healthz { return 200 "ok"; }
  location ~ ^/v1/(a|b)(/|$) { set $upstream alpha:8000; proxy_pass http://$upstream; }
  location ^~ /v1/b/static { proxy_pass http://beta:8000; }
  location ~ ^/v1(/|$) { default_type application/json; return 404 '{"status": 404}'; }
  location / { set $upstream web:8000; proxy_pass http://$upstream; }  # { in a comment }
}
"""


def test_the_location_rules_are_nginx_s():
    """The matcher the tests above rely on, on a small config: exact first; a regex (in file order) before the
    longest prefix, unless that prefix is ^~; braces inside quotes and comments do not end a block."""
    locations = nginx_locations(NGINX_RULES)
    assert [loc.upstream for loc in locations] == [NGINX_ITSELF, "alpha", "beta", NGINX_ITSELF, "web"]
    cases = {
        "/healthz": NGINX_ITSELF,
        "/v1/a": "alpha",
        "/v1/b/x": "alpha",
        "/v1/b/static/x.css": "beta",
        "/v1/ab": NGINX_ITSELF,
        "/v1": NGINX_ITSELF,
        "/v1x": "web",
        "/": "web",
        "/family/x": "web",
    }
    assert {path: nginx_route(path, locations) for path in cases} == cases
    paths = {"/v1/a": "alpha", "/": "web"}
    assert [ingress_route(p, paths) for p in ("/v1/a/x", "/v1/ab", "/v1/a", "/x")] == ["alpha", "web", "alpha", "web"]
