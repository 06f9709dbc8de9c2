"""Traefik really routes what our synthesized labels describe.

For each environment the real Traefik binary runs with the static config layer1 ships (localized, see
``traefik_harness``), reading services from a Docker API stand-in that serves the synthesized
``docker_service`` labels verbatim (bar Swarm-DNS names in forward-auth URLs). Small backends listen on each
service's own loopback address and real port. The tests then send real HTTP(S)/TLS traffic through
Traefik and check that every host form of every router reaches the right backend, unknown hosts get 404,
plain HTTP is redirected when TLS is on, forward-auth gates what it should, TCP routers route by SNI, and
Traefik neither reports a router in error nor logs a configuration error.

Two kinds of environment are exercised: a handwritten stack in the exact ``cdk.tf.json`` shape (keeps
the stand-in and harness honest on their own) and the real environments synthesized by the project's
``synth_stacks`` fixture. One Traefik runs per environment.
"""

from __future__ import annotations

import base64
import random
import ssl
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sprocket_infra.routing import is_ip
from tests.integration.docker_api_standin import DockerApiStandin
from tests.integration.http_backends import (
    APPROVE_HEADER,
    APPROVE_VALUE,
    AUTH_VERDICT_HEADER,
    BackendFleet,
)
from tests.integration.processes import port_open
from tests.integration.traefik_harness import (
    API_ENTRYPOINT,
    TRAEFIK_BIN,
    UNREACHABLE_ACME,
    Response,
    ShippedStaticConfig,
    TestStaticConfig,
    TraefikHarness,
    make_test_static_config,
    mounted_configs,
    shipped_static_config,
    tls_greeting,
)
from tests.synthesized_swarm import (
    HttpRouter,
    Stack,
    SwarmModel,
    SwarmService,
    SynthesizedStackError,
    build_swarm_model,
)
from tests.traefik_rules import (
    HttpRule,
    UnexpectedRuleError,
    parse_host_rule,
    parse_host_sni_rule,
    parse_http_rule,
)

pytestmark = pytest.mark.integration

REAL_ENVIRONMENTS = ("local", "lan", "prod")
HANDWRITTEN = ("handwritten-tls", "handwritten-plain")
UNKNOWN_HOST = "nobody-routes-this.invalid"
APPROVE = {APPROVE_HEADER: APPROVE_VALUE}
PASSIVE_MIDDLEWARES = {"headers", "compress", "retry", "ratelimit", "inflightreq", "buffering", "ipallowlist"}
"""Middleware kinds that pass a request from an allowed client unchanged (rate limits are not reached by
the few requests these checks send; allow-lists the shipped configs set include loopback)."""


# -- handwritten stacks -----------------------------------------------------------------------------


def _labels(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"label": key, "value": value} for key, value in pairs.items()]


def handwritten_stacks(*, tls: bool) -> dict[str, dict[str, Any]]:
    """Two stacks in the exact shape ``cdktf synth`` writes, covering each label convention once:
    a Host-rule router with four host forms behind forward-auth, the auth service's own router, a TCP
    HostSNI router, and a service in another stack that reaches the ingress network through a
    cross-stack remote-state output."""
    domain = "sprocket.test"
    entrypoint = "websecure" if tls else "web"
    static: dict[str, Any] = {
        "entryPoints": {
            "web": {"address": ":80"},
            "websecure": {"address": ":443"},
            "ping": {"address": ":8082"},
        },
        "ping": {"entryPoint": "ping"},
        "providers": {
            "swarm": {
                "endpoint": "tcp://docker-socket-proxy:2375",
                "exposedByDefault": False,
                "network": "sprocket-ingress",
                "constraints": "Label(`traefik.enable`, `true`)",
            }
        },
        "log": {"level": "INFO"},
        "api": {"dashboard": False},
    }
    if tls:
        static["entryPoints"]["web"]["http"] = {
            "redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}
        }
        static["certificatesResolvers"] = {
            "letsencrypt": {
                "acme": {
                    "email": "ops@sprocket.test",
                    "storage": "/letsencrypt/acme.json",
                    "caServer": "https://acme-staging-v02.api.letsencrypt.org/directory",
                    "tlsChallenge": {},
                }
            }
        }
    ingress_ref = "${docker_network.ingress_5F3A.id}"

    def router(name: str, rule: str, service: str, *, auth: bool = False) -> dict[str, str]:
        prefix = f"traefik.http.routers.{name}"
        labels = {f"{prefix}.rule": rule, f"{prefix}.entrypoints": entrypoint, f"{prefix}.service": service}
        if tls:
            labels[f"{prefix}.tls.certresolver"] = "letsencrypt"
            # Certificates for the names only: the LAN / Tailscale IP forms must not reach the ACME order.
            names = [host for host in parse_http_rule(rule).hosts if not host[0].isdigit()]
            labels[f"{prefix}.tls.domains[0].main"] = names[0]
            if names[1:]:
                labels[f"{prefix}.tls.domains[0].sans"] = ",".join(names[1:])
        if auth:
            labels[f"{prefix}.middlewares"] = "auth-sprocketadmin@swarm"
        return labels

    auth_mw = "traefik.http.middlewares.auth-sprocketadmin.forwardauth"
    base = {"traefik.enable": "true", "traefik.swarm.network": "sprocket-ingress"}
    layer1 = {
        "resource": {
            "docker_network": {"ingress_5F3A": {"name": "sprocket-ingress", "driver": "overlay"}},
            "docker_config": {
                "traefik_static_9C1D": {
                    "name": "traefik-static-v1",
                    "data": base64.b64encode(yaml.safe_dump(static).encode()).decode(),
                }
            },
            "docker_service": {
                "traefik_0B7E": {
                    "name": "traefik",
                    "task_spec": {
                        "container_spec": {
                            "image": "traefik:v3.7.15",
                            "args": ["--configFile=/etc/traefik/traefik.yml"],
                            "configs": [
                                {
                                    "config_id": "${docker_config.traefik_static_9C1D.id}",
                                    "file_name": "/etc/traefik/traefik.yml",
                                }
                            ],
                            "healthcheck": {
                                "test": [
                                    "CMD",
                                    "traefik",
                                    "healthcheck",
                                    "--configFile=/etc/traefik/traefik.yml",
                                ]
                            },
                        },
                        "networks_advanced": [{"id": ingress_ref}],
                    },
                    "labels": [],
                },
                "whoami_1C2D": {
                    "name": "whoami",
                    "task_spec": {
                        "container_spec": {"image": "traefik/whoami:v1.10"},
                        "networks_advanced": [{"id": ingress_ref}],
                    },
                    "labels": _labels(
                        {
                            **base,
                            **router(
                                "whoami",
                                f"Host(`whoami.{domain}`) || Host(`{domain}`) || Host(`192.168.1.20`)"
                                " || Host(`100.64.0.7`)",
                                "whoami",
                                auth=True,
                            ),
                            "traefik.http.services.whoami.loadbalancer.server.port": "8080",
                        }
                    ),
                },
                "auth_3E4F": {
                    "name": "sprocket-auth",
                    "task_spec": [
                        {
                            "container_spec": [{"image": "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1"}],
                            "networks_advanced": [{"id": ingress_ref}],
                        }
                    ],
                    "labels": _labels(
                        {
                            **base,
                            **router("auth", f"Host(`auth.{domain}`)", "auth"),
                            "traefik.http.services.auth.loadbalancer.server.port": "4180",
                            f"{auth_mw}.address": "http://sprocket-auth:4180/oauth2/auth",
                            f"{auth_mw}.trustForwardHeader": "true",
                            f"{auth_mw}.maxResponseBodySize": "65536",
                        }
                    ),
                },
                "pg_5A6B": {
                    "name": "postgres",
                    "task_spec": {
                        "container_spec": {"image": "postgres:17"},
                        "networks_advanced": [{"id": ingress_ref}],
                    },
                    "labels": _labels(
                        {
                            **base,
                            "traefik.tcp.routers.postgres.rule": f"HostSNI(`db.{domain}`)",
                            "traefik.tcp.routers.postgres.entrypoints": "websecure",
                            "traefik.tcp.routers.postgres.tls": "true",
                            "traefik.tcp.routers.postgres.service": "postgres",
                            "traefik.tcp.services.postgres.loadbalancer.server.port": "5432",
                        }
                    ),
                },
            },
        },
        "output": {"cross-stack-output-docker_networkingress_5F3Aid": {"value": ingress_ref}},
    }
    platform = {
        "resource": {
            "docker_service": {
                "web_7C8D": {
                    "name": "sprocket-web",
                    "task_spec": {
                        "container_spec": {"image": "ghcr.io/sprocketbot/web:1.0.0"},
                        "networks_advanced": [
                            {
                                "id": "${data.terraform_remote_state.cross-stack-reference-input-layer1"
                                ".outputs.cross-stack-output-docker_networkingress_5F3Aid}"
                            }
                        ],
                    },
                    "labels": _labels(
                        {
                            **base,
                            **router("sprocket-web", f"Host(`app.{domain}`)", "sprocket-web"),
                            "traefik.http.services.sprocket-web.loadbalancer.server.port": "3000",
                            # Same host, narrowed by a path prefix, to another port: the prefix must win.
                            **router(
                                "sprocket-web-hooks",
                                f"Host(`app.{domain}`) && PathPrefix(`/hooks`)",
                                "sprocket-web-hooks",
                            ),
                            "traefik.http.services.sprocket-web-hooks.loadbalancer.server.port": "3001",
                        }
                    ),
                }
            }
        }
    }
    return {"layer1": layer1, "platform": platform}


# -- one running Traefik per environment -----------------------------------------------------------


@dataclass
class RoutingEnv:
    """Everything one environment's tests need, with Traefik and the stand-ins running."""

    name: str
    stacks: Mapping[str, Stack]
    model: SwarmModel
    shipped_resource: ShippedStaticConfig
    static: TestStaticConfig
    standin: DockerApiStandin
    fleet: BackendFleet
    traefik: TraefikHarness
    files: Mapping[str, bytes]
    """The files Traefik's service mounts as shipped, by container path."""

    @property
    def dynamic(self) -> dict[str, Any]:
        """The shipped dynamic file (edge policy), or nothing when the static config names none."""
        filename = self.shipped["providers"].get("file", {}).get("filename")
        return yaml.safe_load(self.files[filename]) if filename else {}

    @property
    def sni_strict(self) -> bool:
        """Whether the default TLS options refuse handshakes naming no certificate."""
        return bool(self.dynamic.get("tls", {}).get("options", {}).get("default", {}).get("sniStrict"))

    @property
    def shipped(self) -> dict[str, Any]:
        """The static config exactly as shipped (decoded YAML)."""
        return self.shipped_resource.config

    @property
    def tls_on(self) -> bool:
        """TLS is on when the shipped config has a certificate resolver (ACME staging or production)."""
        return bool(self.shipped.get("certificatesResolvers"))

    def redirecting(self, entrypoint: str) -> bool:
        redirections = self.shipped["entryPoints"][entrypoint].get("http", {}).get("redirections", {})
        return bool(redirections.get("entryPoint"))

    def entrypoint_tls(self, entrypoint: str) -> bool:
        """Whether clients speak TLS to ``entrypoint``: TLS configured on it, or on a router using it."""
        if "tls" in self.shipped["entryPoints"][entrypoint].get("http", {}):
            return True
        return any(
            router.tls and entrypoint in self.router_entrypoints(router) for _, router in self.http_routers()
        )

    def routed_entrypoints(self) -> list[str]:
        """Shipped entryPoints some label router listens on (the ones a 404 for strangers matters on)."""
        used = {ep for _, router in self.http_routers() for ep in self.router_entrypoints(router)}
        return [ep for ep in self.public_entrypoints() if ep in used]

    def probe(self, svc: SwarmService, router: HttpRouter) -> tuple[str, Callable[[Response, str], bool]]:
        """The path to request through ``router`` and how to recognise that its own target answered.

        A label service must answer from the backend of this Swarm service on the declared port, echoing
        the Host; ``api@internal`` (the dashboard router) must answer Traefik's own ``/api/version``.
        """
        target = svc.http_router_service(router)
        name, _, provider = target.partition("@")
        if provider == "internal":
            assert name == "api", f"router {router.name}: internal service {target} is not modeled"
            return "/api/version", lambda reply, _host: reply.status == 200 and "Version" in reply.json()
        assert provider in {"", "swarm"}, f"router {router.name}: service {target} from another provider"
        port = svc.traefik.http_service_ports.get(name)
        assert port is not None, f"router {router.name}: service {name} has no loadbalancer.server.port label"

        path = parse_http_rule(router.rule).probe_path()

        def answered(reply: Response, host: str) -> bool:
            body = reply.json() if reply.status == 200 else {}
            got = (body.get("service"), body.get("port"), body.get("host"), body.get("path"))
            return got == (svc.name, port, host, path)

        return path, answered

    def public_entrypoints(self) -> list[str]:
        return list(self.shipped["entryPoints"])

    def http_routers(self) -> Iterator[tuple[SwarmService, HttpRouter]]:
        for svc in self.model.routed():
            for router in svc.traefik.http_routers.values():
                yield svc, router

    def router_entrypoints(self, router: HttpRouter) -> list[str]:
        # Without an entrypoints label Traefik attaches a router to every (default) entryPoint.
        return list(router.entrypoints) or self.public_entrypoints()

    def forward_auth(self, router: HttpRouter) -> str | None:
        """The (synthesized) forward-auth address guarding ``router``, if any."""
        addresses = []
        pending = list(router.middlewares)
        while pending:
            reference = pending.pop(0)
            kind, options = self.model.middleware(reference)
            if kind == "chain":  # its members run in order, in place of the chain
                pending[:0] = options["middlewares"].split(",")
            elif kind == "forwardauth":
                addresses.append(options["address"])
            elif kind not in PASSIVE_MIDDLEWARES:
                raise AssertionError(
                    f"router {router.name}: middleware {reference} of type {kind} changes responses in ways"
                    " this test does not model yet; teach it before relying on the routing checks"
                )
        assert len(addresses) <= 1, f"router {router.name} chains several forward-auth middlewares"
        return addresses[0] if addresses else None


def _loopback_subnet() -> str:
    """A /24 inside 127.0.0.0/8 not used by anyone else on this machine right now.

    Other engineers run their integration tests (OpenBao, other Traefik runs) concurrently on
    127.0.0.1, and our backends need *real* ports like 3000 or 8080; a random 127.a.b.0/24 per run keeps
    those binds from colliding. The whole /8 is loopback on Linux.
    """
    rng = random.SystemRandom()
    for _ in range(20):
        subnet = f"127.{rng.randint(64, 254)}.{rng.randint(1, 254)}"
        if not port_open(f"{subnet}.2", 22) and not any(port_open(f"{subnet}.{h}", 80) for h in (2, 3)):
            return f"{subnet}.0/24"
    raise RuntimeError("no free loopback /24 found")


def served_names(model: SwarmModel) -> list[str]:
    """Every DNS name a router of ``model`` serves (HTTP Host rules and TCP HostSNI), sorted."""
    names: set[str] = set()
    for svc in model.routed():
        for router in svc.traefik.http_routers.values():
            names |= set(parse_http_rule(router.rule).hosts)
        for tcp in svc.traefik.tcp_routers.values():
            names |= set(parse_host_sni_rule(tcp.rule))
    return sorted(name for name in names if not is_ip(name) and name != "*")


@contextmanager
def routing_env(
    name: str, stacks: Mapping[str, Stack], workdir: Path, *, acme_ca_server: str = UNREACHABLE_ACME
) -> Iterator[RoutingEnv]:
    """Traefik running ``stacks`` (see the module docstring); ``acme_ca_server`` as in the harness."""
    model = build_swarm_model(stacks, _loopback_subnet())
    shipped_resource = shipped_static_config(stacks["layer1"])
    shipped = shipped_resource.config
    standin = DockerApiStandin(model)
    fleet = BackendFleet.for_model(model)
    expect_http = {f"{r}@swarm" for svc in model.routed() for r in svc.traefik.http_routers}
    expect_tcp = {f"{r}@swarm" for svc in model.routed() for r in svc.traefik.tcp_routers}
    with ExitStack() as stack:
        stack.enter_context(standin.serving())
        stack.enter_context(fleet.running())
        files = mounted_configs(stacks["layer1"], model.traefik_service().name)
        static = make_test_static_config(
            shipped,
            workdir,
            standin.endpoint,
            files=files,
            certificate_names=served_names(model),
            acme_ca_server=acme_ca_server,
        )
        traefik = stack.enter_context(
            TraefikHarness(static, workdir).running(
                expect_http=expect_http, expect_tcp=expect_tcp, provider_polled=standin.provider_settled
            )
        )
        yield RoutingEnv(name, stacks, model, shipped_resource, static, standin, fleet, traefik, files)


@pytest.fixture(scope="module", params=[*HANDWRITTEN, *REAL_ENVIRONMENTS])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutingEnv]:
    """One environment with Traefik running; real environments come from the project's synth fixture."""
    name: str = request.param
    if name in HANDWRITTEN:
        stacks: Mapping[str, Stack] = handwritten_stacks(tls=name == "handwritten-tls")
    else:
        # tests/conftest.py's session fixture: one real synth per environment, shared with other tests.
        stacks = request.getfixturevalue("synth_stacks")(name)
    with routing_env(name, stacks, tmp_path_factory.mktemp(f"traefik-{name}")) as running:
        yield running


# -- the checks ------------------------------------------------------------------------------------


def test_traefik_service_loads_the_static_config_under_test(env: RoutingEnv) -> None:
    """The config this suite runs is the one Swarm's Traefik reads: the service mounts that very
    ``docker_config`` at the path its ``--configFile`` argument and its healthcheck name."""
    traefik = env.model.traefik_service()
    config_args = {arg.split("=", 1)[1] for arg in traefik.args if arg.startswith("--configFile=")}
    assert len(config_args) == 1, f"Traefik args {traefik.args} name no single --configFile"
    path = config_args.pop()
    mounted = traefik.config_files.get(path, "")
    assert mounted.startswith(f"${{docker_config.{env.shipped_resource.logical_id}."), (
        f"{path} is mounted from {mounted or 'nothing'}, not docker_config.{env.shipped_resource.logical_id}"
    )
    if "healthcheck" in traefik.healthcheck:
        assert f"--configFile={path}" in traefik.healthcheck, (
            f"healthcheck {traefik.healthcheck} reads another file"
        )


def test_swarm_healthcheck_passes_against_this_traefik(env: RoutingEnv) -> None:
    """Run the Traefik service's own healthcheck command (``traefik healthcheck --configFile=...``)
    against the running test Traefik: it must find the ping entryPoint and get a healthy answer."""
    test = env.model.traefik_service().healthcheck
    if not test:
        pytest.skip("the Traefik service declares no healthcheck")
    assert test[0] == "CMD", f"healthcheck {test} is not an exec-form CMD"
    assert test[1] == "traefik", f"healthcheck {test} does not run traefik"
    config_path = env.traefik.workdir / "traefik.yml"
    argv = [str(TRAEFIK_BIN)] + [
        f"--configFile={config_path}" if arg.startswith("--configFile=") else arg for arg in test[2:]
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, f"{argv} exited {result.returncode}: {result.stdout}{result.stderr}"


def test_swarm_topology_lets_traefik_reach_every_service(env: RoutingEnv) -> None:
    """Traefik and every routed service share the network ``traefik.swarm.network`` names, and
    forward-auth targets are services Traefik can reach by Swarm DNS."""
    default = env.shipped["providers"]["swarm"].get("network")
    assert env.model.topology_problems(default) == []


def test_every_labelled_router_is_loaded(env: RoutingEnv) -> None:
    """Every router the labels declare shows up in Traefik's API. Traefik drops all of a service's
    dynamic config when it cannot build it (e.g. "port is missing"), so a missing router is quoted
    together with the error lines Traefik logged for that Swarm service."""
    missing = []
    for kind in ("http", "tcp"):
        loaded = set(env.traefik.routers(kind))
        for svc in env.model.routed():
            declared = svc.traefik.http_routers if kind == "http" else svc.traefik.tcp_routers
            for name in declared:
                if f"{name}@swarm" not in loaded:
                    errors = [
                        json_line(record)
                        for record in env.traefik.log_records()
                        if record.get("level") == "error"
                        and str(record.get("container", "")).startswith(svc.name)
                    ]
                    said = errors or (
                        "nothing; it silently skips services failing providers.swarm.constraints "
                        f"{env.shipped['providers']['swarm'].get('constraints')!r}"
                    )
                    missing.append(
                        f"{kind} router {name} of service {svc.name} not loaded; Traefik said: {said}"
                    )
    assert missing == []


def test_every_router_and_service_is_enabled_without_errors(env: RoutingEnv) -> None:
    """Traefik's API reports every swarm router, service and middleware as enabled, with no error
    attached (a router naming a middleware or service that does not exist is listed but disabled)."""
    problems = []
    for kind in ("http", "tcp"):
        for section in ("routers", "services", "middlewares"):
            if kind == "tcp" and section == "middlewares":
                continue
            for item in env.traefik.api(f"{kind}/{section}?per_page=1000"):
                if item.get("provider") != "swarm":
                    continue
                if item.get("status") != "enabled" or item.get("error"):
                    problems.append(
                        f"{kind} {section[:-1]} {item['name']}: {item.get('status')} {item.get('error')}"
                    )
    assert problems == []


def test_traefik_logs_no_errors(env: RoutingEnv) -> None:
    """Nothing at error level or worse, except ACME failing to reach the dead CA the harness configures
    on purpose (those lines name the CA URL, so nothing else can hide behind the exemption)."""
    bad = []
    for record in env.traefik.log_records():
        if str(record.get("level", "")).lower() not in {"error", "fatal", "panic", "raw"}:
            continue
        text = json_line(record)
        if record.get("level") == "error" and UNREACHABLE_ACME in text:
            continue
        bad.append(text)
    assert bad == []


def test_traefik_logs_no_warnings_about_routers_middlewares_or_networks(env: RoutingEnv) -> None:
    """Warnings tied to a router, middleware or service (Traefik tags them with ``routerName`` etc.) or
    about networks (e.g. ``traefik.swarm.network`` naming no network of the task) point at label
    problems that do not break routing today but are wrong all the same."""
    bad = []
    for record in env.traefik.log_records():
        if record.get("level") != "warn":
            continue
        tagged = {"routerName", "middlewareName", "serviceName"} & set(record)
        if tagged or "network" in str(record.get("message", "")).lower():
            bad.append(json_line(record))
    assert bad == []


def json_line(record: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in record.items() if key != "time")


def test_docker_api_standin_served_everything_traefik_asked_for(env: RoutingEnv) -> None:
    assert env.standin.unexpected == []
    assert any("/services" in line for line in env.standin.requests)
    assert any("/tasks" in line for line in env.standin.requests)


def test_every_host_form_reaches_its_backend(env: RoutingEnv) -> None:
    """Each ``Host(...)`` of each router, on each of its (non-redirecting) entryPoints, reaches the backend
    of the router's service; forward-auth routers are sent the approval header."""
    checked, wrong = 0, []
    for svc, router in env.http_routers():
        try:
            path, answered = env.probe(svc, router)
            headers = APPROVE if env.forward_auth(router) else {}
        except (AssertionError, SynthesizedStackError) as exc:
            wrong.append(f"{router.name}: {exc}")
            continue
        for entrypoint in env.router_entrypoints(router):
            tls = router.tls or env.entrypoint_tls(entrypoint)
            if env.redirecting(entrypoint) and not tls:
                continue  # covered by test_plain_http_redirects_to_https_when_tls_is_on
            for host in parse_http_rule(router.rule).hosts:
                reply = env.traefik.request(entrypoint, host, tls=tls, path=path, headers=headers)
                checked += 1
                if not answered(reply, host):
                    wrong.append(
                        f"{router.name} {entrypoint} Host={host}: {reply.status} {reply.body[:160]!r}"
                    )
    assert wrong == []
    assert checked > 0, "no HTTP router found: the labels route nothing"


def test_unknown_host_gets_404(env: RoutingEnv) -> None:
    """An unknown host gets 404, or no TLS session at all where strict SNI refuses names it holds no
    certificate for."""
    for entrypoint in env.routed_entrypoints():
        if env.redirecting(entrypoint):
            continue
        tls = env.entrypoint_tls(entrypoint)
        if tls and env.sni_strict:
            with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
                env.traefik.request(entrypoint, UNKNOWN_HOST, tls=True)
            continue
        reply = env.traefik.request(entrypoint, UNKNOWN_HOST, tls=tls)
        assert reply.status == 404, f"{entrypoint}: {reply.status} {reply.body[:160]!r}"


def test_plain_http_redirects_to_https_when_tls_is_on(env: RoutingEnv) -> None:
    if not env.tls_on:
        pytest.skip(f"{env.name} runs without TLS")
    redirecting = [ep for ep in env.public_entrypoints() if env.redirecting(ep)]
    assert redirecting, "TLS is on but no entryPoint redirects plain HTTP"
    hosts = [host for _, router in env.http_routers() for host in parse_http_rule(router.rule).hosts]
    for entrypoint in redirecting:
        for host in [*hosts, UNKNOWN_HOST]:
            reply = env.traefik.request(entrypoint, host, tls=False, path="/some/page?x=1")
            location = urlsplit(reply.headers.get("location", ""))
            assert reply.status in {301, 302, 307, 308}, f"{entrypoint} Host={host}: {reply.status}"
            assert (location.scheme, location.hostname, location.path) == ("https", host, "/some/page"), (
                f"{entrypoint} Host={host}: Location {reply.headers.get('location')!r}"
            )


def test_acme_is_never_asked_for_ip_certificates(env: RoutingEnv) -> None:
    """A router with a certresolver makes Traefik order one certificate for all the hosts of its rule
    (unless ``tls.domains`` narrows it); the harness's log shows Traefik does include IP literals in that
    order. Let's Encrypt's default profile refuses IP identifiers, and private LAN / Tailscale addresses
    can never be validated anyway, so such an order fails as a whole and the router's real domain names
    get no certificate either. IP host forms on an ACME router need ``tls.domains`` listing only names."""
    problems = []
    for _, router in env.http_routers():
        if router.certresolver is None:
            continue
        ordered = router.tls_domains or tuple(parse_http_rule(router.rule).hosts)
        problems += [f"{router.name}: ACME would be asked for {host}" for host in ordered if is_ip(host)]
    for record in env.traefik.log_records():
        problems += [
            f"{record.get('routerName')}: Traefik asked ACME for {domain}"
            for domain in record.get("domains", [])
            if is_ip(domain)
        ]
    assert problems == []


def test_forward_auth_gates_its_routers(env: RoutingEnv) -> None:
    guarded = [(svc, router) for svc, router in env.http_routers() if env.forward_auth(router)]
    if not guarded:
        pytest.skip(f"{env.name} has no forward-auth router")
    for svc, router in guarded:
        address = env.forward_auth(router)
        assert address is not None
        auth = env.fleet.auth_backend(env.model, address)
        path, answered = env.probe(svc, router)
        port = svc.traefik.http_service_ports.get(svc.http_router_service(router))
        backend = env.fleet.http.get((svc.address, port)) if port is not None else None  # None: @internal
        for entrypoint in env.router_entrypoints(router):
            tls = router.tls or env.entrypoint_tls(entrypoint)
            if env.redirecting(entrypoint) and not tls:
                continue
            for host in parse_http_rule(router.rule).hosts:
                where = f"{router.name} {entrypoint} Host={host}"
                backend_calls = len(backend.seen) if backend else 0
                denied = env.traefik.request(entrypoint, host, tls=tls, path=path)
                assert denied.status in {401, 302}, f"{where} without approval: {denied.status}"
                assert denied.headers.get(AUTH_VERDICT_HEADER.lower()) == "denied", f"{where}: not our auth"
                assert (len(backend.seen) if backend else 0) == backend_calls, f"{where}: backend was reached"
                auth_calls = len(auth.seen)
                allowed = env.traefik.request(entrypoint, host, tls=tls, path=path, headers=APPROVE)
                assert answered(allowed, host), (
                    f"{where} with approval: {allowed.status} {allowed.body[:160]!r}"
                )
                auth_call = auth.seen[auth_calls]
                assert auth_call["auth"], f"{where}: the approval did not come from the forward-auth endpoint"
                # The exact URL of this router's middleware: the rule in its query tells middlewares apart.
                expected = urlsplit(address)._replace(scheme="", netloc="").geturl()
                assert auth_call["path"] == expected, (
                    f"{where}: auth asked {auth_call['path']}, not {expected}"
                )
                assert auth_call["headers"].get("x-forwarded-host") == host


def test_tcp_routers_route_by_sni(env: RoutingEnv) -> None:
    routers = [(svc, r) for svc in env.model.routed() for r in svc.traefik.tcp_routers.values()]
    if not routers:
        pytest.skip(f"{env.name} has no TCP router")
    for svc, router in routers:
        assert router.tls, f"{router.name}: only TLS routes can be routed by SNI"
        assert not router.passthrough, f"{router.name}: TLS passthrough is not modeled yet"
        for entrypoint in router.entrypoints or env.public_entrypoints():
            for name in parse_host_sni_rule(router.rule):
                server_name = "anything.invalid" if name == "*" else name
                port = env.static.entrypoint_ports[entrypoint]
                assert tls_greeting(port, server_name) == svc.name, f"{router.name} SNI={server_name}"


def test_shipped_config_keeps_the_api_off_public_entrypoints(env: RoutingEnv) -> None:
    """The test copy turns the API on for its own loopback entryPoint; the shipped config must not
    expose it: no ``api.insecure``, and any label router to ``api@internal`` / ``dashboard@internal``
    must be behind a middleware."""
    assert not (env.shipped.get("api") or {}).get("insecure"), "shipped static config sets api.insecure"
    for item in env.traefik.routers("http").values():
        if item.get("service") in {"api@internal", "dashboard@internal"} and item.get("provider") == "swarm":
            assert item.get("middlewares"), f"{item['name']} exposes the Traefik API without a middleware"
    internal = {
        name for name, item in env.traefik.routers("http").items() if item.get("provider") == "internal"
    }
    for name in internal:
        entrypoints = set(env.traefik.routers("http")[name].get("entryPoints", []))
        if name.startswith(("api@", "dashboard@")):
            assert entrypoints <= {API_ENTRYPOINT}, f"{name} is on {entrypoints}"


# -- unit checks of the pieces, no Traefik needed ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "hosts"),
    [
        ("Host(`a.example`)", ["a.example"]),
        ('Host(`a.example`) || Host(`example`)||Host("10.0.0.2")', ["a.example", "example", "10.0.0.2"]),
    ],
)
def test_host_rule_parser_accepts_the_disjunction_form(rule: str, hosts: list[str]) -> None:
    assert parse_host_rule(rule) == hosts


@pytest.mark.parametrize(
    ("rule", "parsed"),
    [
        ("Host(`a`) || Host(`b`)", HttpRule(["a", "b"])),
        ("Host(`a`) && PathPrefix(`/hooks`)", HttpRule(["a"], "/hooks")),
        ("(Host(`a`) || Host(`b`)) && PathPrefix(`/hooks/`)", HttpRule(["a", "b"], "/hooks/")),
    ],
)
def test_http_rule_parser_accepts_the_shapes_routing_emits(rule: str, parsed: HttpRule) -> None:
    assert parse_http_rule(rule) == parsed


@pytest.mark.parametrize(
    "rule",
    [
        "Host(`a`) || Host(`b`) && PathPrefix(`/x`)",
        "Host(`a`) && PathPrefix(`x`)",
        "Host(`a`) && Path(`/x`)",
        "Host(`a`) && PathPrefix(`/x`) && Method(`GET`)",
        "Host(`a`) && PathPrefix(`/x`) || PathPrefix(`/y`)",
    ],
)
def test_http_rule_parser_rejects_other_combinations(rule: str) -> None:
    with pytest.raises(UnexpectedRuleError):
        parse_http_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "Host(`a`) && PathPrefix(`/x`)",
        "HostRegexp(`.+`)",
        "Host(`a`, `b`)",
        "(Host(`a`) || Host(`b`))",
        "Host(``)",
        "Host(`a`) || Host(`a`)",
        "Host(`a`) ||",
    ],
)
def test_host_rule_parser_rejects_anything_else(rule: str) -> None:
    with pytest.raises(UnexpectedRuleError):
        parse_host_rule(rule)


def test_docker_api_standin_answers_versioned_paths_and_task_filters() -> None:
    """The Engine API paths Traefik uses, with or without a ``/vX.Y`` prefix; tasks filtered by service."""
    model = build_swarm_model(handwritten_stacks(tls=False), "127.0.0.0/24")
    standin = DockerApiStandin(model)
    status, services = standin.answer("GET", "/v1.24/services")
    assert status == 200
    assert {svc["Spec"]["Name"] for svc in services} == set(model.services)
    web = next(svc for svc in services if svc["Spec"]["Name"] == "sprocket-web")
    assert web["Spec"]["Labels"]["traefik.swarm.network"] == "sprocket-ingress"
    query = '{"service":{"' + web["ID"] + '":true},"desired-state":{"running":true}}'
    status, tasks = standin.answer("GET", f"/v1.47/tasks?filters={query}")
    assert [task["ServiceID"] for task in tasks] == [web["ID"]]
    assert tasks[0]["NetworksAttachments"][0]["Network"]["ID"] == "sprocket-ingress"
    assert tasks[0]["NetworksAttachments"][0]["Addresses"] == [f"{model.services['sprocket-web'].address}/24"]
    assert standin.answer("GET", "/_ping") == (200, "OK")
    assert standin.answer("GET", "/v1.47/containers/json")[0] == 404
    assert standin.unexpected == ["GET /v1.47/containers/json"]


def test_handwritten_model_resolves_networks_and_swarm_dns() -> None:
    model = build_swarm_model(handwritten_stacks(tls=True), "127.0.0.0/24")
    assert model.networks == ("sprocket-ingress",)
    assert model.services["sprocket-web"].networks == ("sprocket-ingress",)
    assert model.traefik_service().name == "traefik"
    auth = model.services["sprocket-auth"]
    served = model.served_labels(model.services["sprocket-auth"])
    assert served["traefik.http.middlewares.auth-sprocketadmin.forwardauth.address"] == (
        f"http://{auth.address}:4180/oauth2/auth"
    )
    assert len(model.label_rewrites) == 1
    assert model.topology_problems() == []
