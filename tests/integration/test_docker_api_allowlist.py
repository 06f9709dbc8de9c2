"""The synthesized socket proxies, run by real HAProxy in front of a real dockerd, answer only their routes.

For each proxy (Traefik's in layer1, the monitoring agents' in layer2) every route its sections open gets
the engine's own answer, and every request in :data:`REFUSED` gets 403 from the proxy, although the engine
asked directly answers it (the container's archive holds the canary file, its export the whole
filesystem). Writes are refused and change nothing; encoded and dotted paths cannot reach a refused route.
The README's count of refused Docker API requests is the length of :data:`REFUSED` plus :data:`EVASIONS`
plus :data:`WRITES`, all asserted here against both proxies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from sprocket_infra import naming
from sprocket_infra.constructs.docker_api_allowlist import SECTION_ROUTES, routes
from sprocket_infra.stacks.layer2 import AGENT_PROXY_SECTIONS
from tests.conftest import Stacks
from tests.e2e.swarm import private_swarm
from tests.integration.docker_api_proxy import (
    CANARY,
    CANARY_PATH,
    CONTAINER,
    Engine,
    RunningProxy,
    prepare_engine,
    proxy_in_front,
)

pytestmark = pytest.mark.integration

PROXIES = {
    naming.SOCKET_PROXY_SERVICE: ("NETWORKS", "PING", "SERVICES", "TASKS", "VERSION"),
    **{naming.agent_socket_proxy(agent): sections for agent, sections in AGENT_PROXY_SECTIONS.items()},
}
"""The sections each proxy's one consumer needs (Traefik, Telegraf, Alloy)."""

REFUSED = (
    "/containers/{container}/archive?path=" + CANARY_PATH,
    "/v1.41/containers/{container}/archive?path=/",
    "/containers/{container}/export",
    "/containers/{container}/logs?stdout=1&stderr=1",
    "/containers/{container}/changes",
    "/containers/{container}/attach/ws?stream=1",
    "/containers/{container}/top",
    "/exec/{container}/json",
    "/secrets",
    "/configs",
    "/swarm",
    "/swarm/unlockkey",
    "/images/json",
    "/images/{image}/get",
    "/volumes",
    "/events?since=0&until=1",
    "/system/df",
    "/plugins",
    "/distribution/busybox/json",
)
"""GET requests (with a real container and image) that no proxy answers; some return contents."""

EVASIONS = (
    "/containers/{container}%2Farchive?path=/",
    "/containers/{container}%2Fexport",
    "/containers/{container}/json/../archive?path=/",
    "/containers/../containers/{container}/archive?path=/",
    "//containers/{container}/archive?path=/",
    "/containers/{container}/archive/?path=/",
    "/containers/{container}/ARCHIVE?path=/",
    "/v1.41//containers/{container}/export",
    "/containers/{container}/stats/../../{container}/export",
)
"""Spellings of refused routes: dockerd decodes ``%2F`` and serves the first two as archive and export
(measured: 200), and answers the dotted and doubled ones with a redirect to the refused route."""

WRITES = (
    ("POST", "/containers/create?name=made-through-the-proxy", b'{"Image": "sprocket-test/busybox:1"}'),
    ("POST", "/containers/{container}/exec", b'{"Cmd": ["cat", "%s"]}' % CANARY_PATH.encode()),
    ("POST", "/containers/{container}/start", b""),
    ("PUT", "/containers/{container}/archive?path=/", b""),
    ("DELETE", "/containers/{container}?force=1", None),
    ("POST", "/services/create", b'{"Name": "made-through-the-proxy"}'),
    ("POST", "/swarm/leave?force=1", b""),
    ("POST", "/networks/create", b'{"Name": "made-through-the-proxy"}'),
    ("POST", "/_ping", b""),
)  # fmt: skip
"""Requests that would change the engine; each must be refused and leave it as it was."""


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with private_swarm() as swarm:
        yield prepare_engine(swarm)


@pytest.fixture(scope="module", params=sorted(PROXIES))
def proxy(
    request: pytest.FixtureRequest,
    engine: Engine,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningProxy]:
    service: str = request.param
    with proxy_in_front(synth_stacks("local"), service, engine, tmp_path_factory.mktemp(service)) as running:
        yield running


def _concrete(path: str, engine: Engine) -> str:
    return path.format(container=engine.container_id, image="sprocket-test/busybox:1")


def _route_path(template: str, section: str, engine: Engine) -> str:
    """An allowed route with a real object ID of its kind (a missing ID answers 404 both ways)."""
    ids = {"CONTAINERS": engine.container_id, "NODES": engine.node_id, "NETWORKS": engine.network_id}
    path = template.replace("{id}", ids.get(section, "no-such-object"))
    return path + "?stream=false" if path.endswith("/stats") else path


def test_the_proxy_opens_exactly_its_consumers_sections(proxy: RunningProxy) -> None:
    config = proxy.rendered.text("/usr/local/etc/haproxy/haproxy.cfg")
    expected = routes(PROXIES[proxy.rendered.name])
    assert [line.split()[-1] for line in config.splitlines() if "acl allowed_route" in line] == [
        route.pattern for route in expected
    ]


def test_every_open_route_gets_the_engines_answer(proxy: RunningProxy, engine: Engine) -> None:
    asked = 0
    for section in PROXIES[proxy.rendered.name]:
        for route in SECTION_ROUTES[section]:
            for prefix in ("", "/v1.41"):
                path = prefix + _route_path(route.path, section, engine)
                through, direct = proxy.ask("GET", path), engine.direct("GET", path)
                assert through.status == direct.status != 403, (path, through, proxy.log()[-2000:])
                asked += 1
    assert proxy.ask("HEAD", "/_ping").status == 200
    assert asked == 2 * len(routes(PROXIES[proxy.rendered.name]))


def test_reading_container_contents_is_refused_though_the_engine_would_answer(
    proxy: RunningProxy, engine: Engine
) -> None:
    archive = engine.direct("GET", _concrete(REFUSED[0], engine))
    assert archive.status == 200
    assert CANARY.encode() in archive.body, "the baseline: the engine hands the file out to anyone asking"
    for template in REFUSED:
        path = _concrete(template, engine)
        answer = proxy.ask("GET", path)
        assert answer.status == 403, (path, answer.status)
        assert CANARY.encode() not in answer.body
    assert engine.direct("GET", _concrete("/containers/{container}/export", engine)).status == 200


def test_encoded_and_dotted_paths_are_refused(proxy: RunningProxy, engine: Engine) -> None:
    for template in EVASIONS:
        path = _concrete(template, engine)
        answer = proxy.ask("GET", path)
        assert answer.status == 403, (path, answer.status)


def test_writes_are_refused_and_change_nothing(proxy: RunningProxy, engine: Engine) -> None:
    before = engine.container_names()
    services_before = engine.direct("GET", "/services").body
    for method, template, body in WRITES:
        answer = proxy.ask(method, _concrete(template, engine), body)
        assert answer.status == 403, (method, template, answer.status)
    assert engine.container_names() == before
    assert CONTAINER in before
    assert engine.direct("GET", "/services").body == services_before
    assert json.loads(engine.direct("GET", "/info").body)["Swarm"]["LocalNodeState"] == "active"


def test_traefiks_proxy_refuses_what_only_the_agents_read(engine: Engine, proxy: RunningProxy) -> None:
    if proxy.rendered.name != naming.SOCKET_PROXY_SERVICE:
        pytest.skip("Traefik's proxy only")
    for path in ("/containers/json", f"/containers/{engine.container_id}/json", "/info", "/nodes"):
        assert proxy.ask("GET", path).status == 403, path
        assert engine.direct("GET", path).status == 200, path


def test_refusals_are_logged_with_method_and_path(proxy: RunningProxy, engine: Engine) -> None:
    proxy.ask("GET", "/secrets")
    assert "403" in proxy.log()
    assert "GET /secrets" in proxy.log()


def test_the_figures_the_readme_quotes() -> None:
    assert (len(REFUSED), len(EVASIONS), len(WRITES)) == (19, 9, 9)
