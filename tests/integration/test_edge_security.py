"""The edge policy, proven on real Traefik started from the synthesized static config and labels.

Same harness as ``test_traefik_routing`` (loopback ports, the Docker API stand-in, one backend per
service, a self-signed certificate standing in for what ACME would issue). Checked here:

* every router's responses carry the security headers, and backend banners (``Server``,
  ``X-Powered-By``) are gone; HSTS only where TLS is on;
* bursts on login paths (Vault ``/v1/auth/``, the forward-auth host) and on forward-auth-guarded
  routers get 429, while other paths of the same host do not;
* TLS handshakes without SNI or with a name Traefik holds no certificate for are refused, and TLS 1.2
  sessions use forward-secret AEAD suites only;
* the access log holds no query string, ``Authorization`` or ``Cookie`` value (a canary in each);
* allow-lists: an environment whose lists exclude 127.0.0.1 (the address Traefik sees here) gets 403 on
  HTTP and a closed connection on TCP, one whose lists include it gets through.

Each figure the README's security table quotes is printed (``-s``) with the ``edge:`` prefix.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sprocket_infra.app import build_app
from sprocket_infra.config import Environment, load_environment
from sprocket_infra.config.edge import AllowLists
from tests.conftest import Stacks, read_stacks
from tests.integration.test_traefik_routing import APPROVE, RoutingEnv, routing_env
from tests.integration.traefik_harness import Response, tls_greeting
from tests.synthesized_swarm import HttpRouter, SwarmService
from tests.traefik_rules import parse_host_sni_rule, parse_http_rule

pytestmark = pytest.mark.integration

CANARY = "canary-5f1d7c"
OUTSIDE = "192.0.2.0/24"
"""TEST-NET-1 (RFC 5737): a list holding only this network excludes every real client, 127.0.0.1 too."""
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
HSTS = "max-age=63072000; includeSubDomains"
BANNERS = ("server", "x-powered-by")


def synth_variant(environment: Environment, outdir: Path) -> Stacks:
    """The real App for a changed environment (what an operator's edited config file would give)."""
    build_app(environment, outdir=str(outdir)).synth()
    return read_stacks(outdir)


def restricted(environment: Environment) -> Environment:
    """``environment`` with allow-lists: Vault including loopback, dashboard and Bolt excluding it."""
    allow = AllowLists(
        vault=(ipaddress.ip_network("127.0.0.0/8"),),
        traefik_dashboard=(ipaddress.ip_network(OUTSIDE),),
        neo4j_bolt=(ipaddress.ip_network(OUTSIDE),),
    )
    edge = environment.routing.edge.model_copy(update={"allow": allow})
    return environment.model_copy(update={"routing": environment.routing.model_copy(update={"edge": edge})})


@pytest.fixture(scope="module", params=["local", "prod"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutingEnv]:
    name: str = request.param
    stacks = request.getfixturevalue("synth_stacks")(name)
    with routing_env(name, stacks, tmp_path_factory.mktemp(f"edge-{name}")) as running:
        yield running


@pytest.fixture(scope="module")
def prod(env: RoutingEnv) -> RoutingEnv:
    if env.name != "prod":
        pytest.skip("TLS checks need an environment that issues certificates")
    return env


@pytest.fixture(scope="module")
def restricted_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutingEnv]:
    work = tmp_path_factory.mktemp("edge-restricted")
    stacks = synth_variant(restricted(load_environment("prod")), work / "cdktf.out")
    (work / "traefik").mkdir()
    with routing_env("prod-restricted", stacks, work / "traefik") as running:
        yield running


def _request(
    env: RoutingEnv, router: HttpRouter, host: str, path: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    """One request through ``router``'s first entrypoint that serves it (not the redirecting one)."""
    entrypoint = next(ep for ep in env.router_entrypoints(router) if not env.redirecting(ep))
    tls = router.tls or env.entrypoint_tls(entrypoint)
    return env.traefik.request(entrypoint, host, tls=tls, path=path, headers=headers)


def _router(env: RoutingEnv, name: str) -> tuple[SwarmService, HttpRouter]:
    found = [(svc, router) for svc, router in env.http_routers() if router.name == name]
    assert len(found) == 1, f"{env.name}: no single router {name}"
    return found[0]


def _statuses(env: RoutingEnv, name: str, count: int, *, parallel: int = 1) -> list[int]:
    """Status codes of ``count`` requests to router ``name`` (approved where forward-auth guards it), in
    order, ``parallel`` at a time: one client sending one request after another over fresh TLS sessions
    is slower than some per-second budgets, so a flood needs several connections at once."""
    svc, router = _router(env, name)
    host = parse_http_rule(router.rule).hosts[0]
    headers = APPROVE if env.forward_auth(router) else {}
    path, _ = env.probe(svc, router)

    def one(_: int) -> int:
        return _request(env, router, host, path, headers=headers).status

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, range(count)))


# -- headers ---------------------------------------------------------------------------------------


def test_every_router_sends_the_security_headers_and_no_banner(env: RoutingEnv) -> None:
    checked, wrong = 0, []
    for svc, router in env.http_routers():
        path, answered = env.probe(svc, router)
        headers = APPROVE if env.forward_auth(router) else {}
        for host in parse_http_rule(router.rule).hosts:
            reply = _request(env, router, host, path, headers=headers)
            checked += 1
            expected = dict(SECURITY_HEADERS) | ({"strict-transport-security": HSTS} if env.tls_on else {})
            got = {key: reply.headers.get(key) for key in expected}
            banners = [key for key in BANNERS if key in reply.headers]
            if not answered(reply, host) or got != expected or banners:
                wrong.append(f"{router.name} Host={host}: {reply.status} {got} banners={banners}")
            if not env.tls_on and "strict-transport-security" in reply.headers:
                wrong.append(f"{router.name} Host={host}: HSTS over plain HTTP")
    print(f"\nedge: {env.name}: security headers on {checked - len(wrong)} of {checked} router host forms")
    assert wrong == []
    assert checked > 0


def test_backends_do_send_the_banners_traefik_strips(env: RoutingEnv) -> None:
    """Without this, 'no banner' above would hold even if Traefik stripped nothing."""
    backend = next(iter(env.fleet.http.values()))
    conn = http.client.HTTPConnection(backend.address, backend.port, timeout=5)
    try:
        conn.request("GET", "/probe")
        raw = conn.getresponse()
        reply = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
    finally:
        conn.close()
    assert all(key in reply.headers for key in BANNERS), reply.headers


# -- rate limits -----------------------------------------------------------------------------------


def test_bursts_on_login_paths_get_429_and_other_paths_do_not(prod: RoutingEnv) -> None:
    vault_login = _statuses(prod, "vault-login", 45)
    vault_other = _statuses(prod, "vault", 45)
    forward_auth = _statuses(prod, "forward-auth", 45)
    print(
        f"\nedge: prod: 45-request bursts -> 429s: vault /v1/auth/ {vault_login.count(429)}, "
        f"forward-auth host {forward_auth.count(429)}, other vault paths {vault_other.count(429)}"
    )
    # The burst allowance (30, less the few requests earlier checks sent) is served, then 429.
    assert vault_login[:25] == [200] * 25, vault_login
    assert 429 in vault_login, vault_login
    assert forward_auth[:25] == [200] * 25, forward_auth
    assert 429 in forward_auth, forward_auth
    assert vault_other == [200] * 45, vault_other


def test_floods_on_forward_auth_guarded_routers_get_429(prod: RoutingEnv) -> None:
    guarded = _statuses(prod, "traefik-dashboard", 300, parallel=16)
    open_router = next(
        router.name
        for _, router in prod.http_routers()
        if not prod.forward_auth(router)
        and "login" not in router.name
        and router.name not in {"forward-auth", "vault"}
    )
    unguarded = _statuses(prod, open_router, 300, parallel=16)
    print(
        f"\nedge: prod: 300-request flood -> 429s: guarded dashboard {guarded.count(429)}, "
        f"{open_router} (no forward-auth) {unguarded.count(429)}"
    )
    assert guarded.count(200) >= 90, guarded  # the burst allowance is served
    assert 429 in guarded
    assert 429 not in unguarded


# -- TLS -------------------------------------------------------------------------------------------


def _handshake(env: RoutingEnv, server_name: str | None, *, tls12: bool = False) -> ssl.SSLSocket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", env.static.entrypoint_ports["websecure"]), timeout=5)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def test_handshakes_without_or_with_unknown_sni_are_refused(prod: RoutingEnv) -> None:
    known = next(iter(parse_http_rule(_router(prod, "vault")[1].rule).hosts))
    refused = 0
    for server_name in (None, "nobody.invalid", f"unknown.{known}"):
        with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
            _handshake(prod, server_name).close()
        refused += 1
    with _handshake(prod, known) as accepted:
        assert accepted.version() in {"TLSv1.3", "TLSv1.2"}
    print(f"\nedge: prod: TLS handshakes refused: {refused} of {refused} (no SNI, unknown names)")


def test_tls12_sessions_use_forward_secret_aead_suites(prod: RoutingEnv) -> None:
    known = next(iter(parse_http_rule(_router(prod, "vault")[1].rule).hosts))
    with _handshake(prod, known, tls12=True) as session:
        negotiated = session.cipher()
    assert negotiated is not None
    cipher, version, _ = negotiated
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-"), cipher
    assert "GCM" in cipher or "CHACHA20" in cipher, cipher


def test_tls_below_1_2_is_refused(prod: RoutingEnv) -> None:
    known = next(iter(parse_http_rule(_router(prod, "vault")[1].rule).hosts))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with warnings.catch_warnings():  # Python deprecates the constant, which is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    port = prod.static.entrypoint_ports["websecure"]
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLError) as refused,
    ):
        context.wrap_socket(raw, server_hostname=known)
    assert "PROTOCOL_VERSION" in str(refused.value) or "VERSION" in str(refused.value).upper(), refused.value


# -- access log ------------------------------------------------------------------------------------


def test_access_log_holds_no_query_string_or_credential(env: RoutingEnv) -> None:
    router = next(r for _, r in env.http_routers() if not env.forward_auth(r))
    host = parse_http_rule(router.rule).hosts[0]
    path = parse_http_rule(router.rule).probe_path("canary-path")
    credentials = {"Authorization": f"Bearer {CANARY}", "Cookie": f"session={CANARY}"}
    reply = _request(env, router, host, f"{path}?token={CANARY}&other=1", headers=credentials)
    assert reply.status == 200, reply.body[:200]
    log = Path(env.static.config["accessLog"]["filePath"])
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    ours = [record for record in records if record.get("RequestPath", "").startswith(path)]
    assert ours, f"no access-log line for {path} in {log}"
    assert ours[-1]["RequestPath"] == path  # the path is logged, the query is not
    found = log.read_text().count(CANARY)
    print(f"\nedge: {env.name}: canaries in the access log: {found} ({len(records)} lines)")
    assert found == 0


# -- allow-lists -----------------------------------------------------------------------------------


def test_allow_lists_refuse_clients_outside_and_pass_clients_inside(restricted_env: RoutingEnv) -> None:
    env = restricted_env
    _, dashboard = _router(env, "traefik-dashboard")
    _, vault = _router(env, "vault")
    dashboard_host = parse_http_rule(dashboard.rule).hosts[0]
    vault_host = parse_http_rule(vault.rule).hosts[0]
    outside = _request(env, dashboard, dashboard_host, "/api/version", headers=APPROVE)
    inside = _request(env, vault, vault_host, "/v1/sys/health")
    assert outside.status == 403, outside.status
    assert inside.status == 200, inside.body[:200]
    assert inside.json()["service"] == "vault", inside.body[:200]
    bolt = next(
        r for svc in env.model.routed() for name, r in svc.traefik.tcp_routers.items() if name == "neo4j-bolt"
    )
    (bolt_host,) = parse_host_sni_rule(bolt.rule)
    try:
        greeting = tls_greeting(env.static.entrypoint_ports["websecure"], bolt_host)
    except OSError:
        greeting = ""
    assert greeting == "", f"Bolt answered {greeting!r} to a client outside its allow-list"
    print("\nedge: prod: allow-lists: dashboard outside -> 403, Vault inside -> 200, Bolt outside -> closed")


def test_default_bolt_list_admits_loopback(prod: RoutingEnv) -> None:
    bolt = next(
        r
        for svc in prod.model.routed()
        for name, r in svc.traefik.tcp_routers.items()
        if name == "neo4j-bolt"
    )
    (bolt_host,) = parse_host_sni_rule(bolt.rule)
    assert tls_greeting(prod.static.entrypoint_ports["websecure"], bolt_host) == "neo4j"
