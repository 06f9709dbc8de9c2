"""One Redis identity per app, and a monitoring-only Telegraf, proven on the real server.

Debian's ``redis-server`` runs the synthesized ``redis.conf`` and its ACL users secret
(``rendered_servers.redis_server``); each user logs in with the stand-in of its Vault password, whose
SHA-256 is what the ACL line carries. Expectations come from the catalog and ``naming`` (each app's prefix,
which apps share Celery's results), not from the rendered rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprocket_infra import naming
from sprocket_infra.catalog.model import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.redis import MONITORING_USER
from sprocket_infra.inputs import load_inputs
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.rendered_servers import RunningRedis, redis_server

pytestmark = pytest.mark.integration

DANGEROUS = (("KEYS", "*"), ("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "GET", "maxmemory"), ("ACL", "LIST"))
CELERY_RESULT = "celery-task-meta-0000"


@dataclass(frozen=True)
class Server:
    redis: RunningRedis
    environment: Environment
    catalog: Catalog

    def apps(self) -> list[str]:
        return sorted(key for key, entry in self.catalog.services.items() if "redis" in entry.uses)

    def run(self, app: str | None, *command: str) -> str:
        """``command`` as ``app``'s user (None: the monitoring user); the reply, errors included."""
        if app is None:
            user, fragment = MONITORING_USER, "read-infrastructure-redis-monitoring_"
        else:
            user = naming.app_identity(self.environment, app)
            fragment = f"read-infrastructure-for-platform-apps-{app}-redis_"
        result = self.redis.cli(*command, user=user, password=self.redis.rendered.value_of(fragment))
        return (result.stdout + result.stderr).strip()

    def key(self, app: str, name: str = "probe") -> str:
        return f"{naming.redis_prefix(self.environment, app)}{name}"


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def server(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    environment: str = request.param
    inputs = load_inputs(environment)
    work: Path = tmp_path_factory.mktemp(f"redis-identities-{environment}")
    with redis_server(synth_stacks(environment), environment, work) as running:
        yield Server(running, inputs.environment, inputs.catalog)


def test_each_app_reads_and_writes_its_own_keys(server: Server) -> None:
    assert server.apps(), "no catalog entry uses Redis"
    for app in server.apps():
        assert server.run(app, "SET", server.key(app), app) == "OK"
        assert server.run(app, "GET", server.key(app)) == app
        assert server.run(app, "PUBLISH", server.key(app, "events"), "hello") == "0"
        assert "redis_version" in server.run(app, "INFO", "server")


def test_an_app_is_refused_another_apps_keys_and_channels(server: Server) -> None:
    apps = server.apps()
    for app in apps:
        for other in apps:
            if other == app:
                continue
            assert "NOPERM" in server.run(app, "GET", server.key(other))
            assert "NOPERM" in server.run(app, "SET", server.key(other), "x")
            assert "NOPERM" in server.run(app, "PUBLISH", server.key(other, "events"), "x")
        assert "NOPERM" in server.run(app, "SET", "unprefixed", "x")


def test_dangerous_commands_are_refused_to_every_app(server: Server) -> None:
    for app in server.apps():
        for command in DANGEROUS:
            assert "NOPERM" in server.run(app, *command), (app, command)


def test_only_the_apps_on_the_celery_queue_share_celerys_results(server: Server) -> None:
    on_celery = {
        key
        for key, entry in server.catalog.services.items()
        if "celery" in (*entry.consumes, *entry.publishes)
    }
    assert on_celery & set(server.apps()), "no Redis user is on the Celery queue"
    for app in server.apps():
        reply = server.run(app, "SET", CELERY_RESULT, app)
        assert (reply == "OK") == (app in on_celery), (app, reply)


def test_telegraf_may_read_info_and_nothing_else(server: Server) -> None:
    assert "redis_version" in server.run(None, "INFO", "ALL")
    assert server.run(None, "PING") == "PONG"
    app = server.apps()[0]
    for command in (("GET", server.key(app)), ("SET", "x", "y"), ("KEYS", "*"), ("CLIENT", "LIST")):
        assert "NOPERM" in server.run(None, *command), command
