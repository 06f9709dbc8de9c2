"""One RabbitMQ identity per app, proven on the real broker started from the synthesized files.

Debian's ``rabbitmq-server`` boots on the rendered ``conf.d`` and definitions secret
(``rendered_servers.rabbitmq_server``) and the tests talk AMQP 0-9-1 to it with pika, as each app would:
with the app's own login from the definitions file, in the environment's vhost. What each app may do is
read from the catalog here (``consumes``/``publishes`` and ``naming.queue_name``), not from the regexes
the stack rendered, so a wrong regex fails a test instead of agreeing with itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from sprocket_infra import naming
from sprocket_infra.catalog.model import Catalog
from sprocket_infra.config import Environment
from sprocket_infra.constructs.rabbitmq import ADMIN_USER
from sprocket_infra.inputs import load_inputs
from tests.conftest import ENVIRONMENTS, Stacks
from tests.integration.rendered_servers import RunningRabbit, rabbitmq_server

pytestmark = pytest.mark.integration

ACCESS_REFUSED = 403
"""AMQP reply code when a user lacks a permission on a resource."""
SOCKET_TIMEOUT_S = 10.0

ACTIONS: dict[str, Callable[[BlockingChannel, str], object]] = {
    "declare": lambda channel, queue: channel.queue_declare(queue, durable=True),
    "consume": lambda channel, queue: channel.basic_get(queue, auto_ack=True),
    "purge": lambda channel, queue: channel.queue_purge(queue),
    "delete": lambda channel, queue: channel.queue_delete(queue),
}
"""What an app must not do to a queue it does not consume (or, but for consuming, publish)."""


@dataclass(frozen=True)
class Broker:
    rabbit: RunningRabbit
    environment: Environment
    catalog: Catalog

    def queue(self, key: str) -> str:
        return naming.queue_name(self.environment, self.catalog.queue_name(key))

    def user(self, app: str) -> tuple[str, str]:
        name = naming.app_identity(self.environment, app)
        return name, self.rabbit.users()[name]

    @contextmanager
    def channel(self, username: str, password: str, vhost: str | None = None) -> Iterator[BlockingChannel]:
        parameters = pika.ConnectionParameters(
            host="127.0.0.1",
            port=self.rabbit.amqp_port,
            virtual_host=naming.rabbitmq_vhost(self.environment) if vhost is None else vhost,
            credentials=pika.PlainCredentials(username, password),
            socket_timeout=SOCKET_TIMEOUT_S,
            connection_attempts=1,
        )
        connection = pika.BlockingConnection(parameters)
        try:
            yield connection.channel()
        finally:
            if connection.is_open:
                connection.close()

    def refused(self, app: str, action: str, queue: str) -> bool:
        """True when the broker closes the channel with ACCESS_REFUSED for ``app`` doing ``action``."""
        with self.channel(*self.user(app)) as channel:
            try:
                ACTIONS[action](channel, queue)
            except pika.exceptions.ChannelClosedByBroker as closed:
                code: int = closed.reply_code
                return code == ACCESS_REFUSED
        return False


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def broker(
    request: pytest.FixtureRequest,
    synth_stacks: Callable[[str], Stacks],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Broker]:
    environment: str = request.param
    inputs = load_inputs(environment)
    work = tmp_path_factory.mktemp(f"rabbitmq-identities-{environment}")
    with rabbitmq_server(synth_stacks(environment), environment, work) as server:
        yield Broker(server, inputs.environment, inputs.catalog)


def _drain(channel: BlockingChannel, queue: str) -> list[bytes]:
    """Every message waiting in ``queue`` (earlier tests' publishers may have left some)."""
    bodies: list[bytes] = []
    while True:
        method, _properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return bodies
        bodies.append(body)


def _apps(broker: Broker) -> list[str]:
    return sorted(key for key, entry in broker.catalog.services.items() if "rabbitmq" in entry.uses)


def _owners(broker: Broker, queue_key: str) -> set[str]:
    return {
        key
        for key, entry in broker.catalog.services.items()
        if queue_key in (*entry.consumes, *entry.publishes)
    }


def test_every_app_that_uses_rabbitmq_has_its_own_user_and_nothing_else_does(broker: Broker) -> None:
    expected = {naming.app_identity(broker.environment, app) for app in _apps(broker)} | {ADMIN_USER}
    assert set(broker.rabbit.users()) == expected
    assert "guest" not in broker.rabbit.users()


def test_each_app_consumes_what_it_consumes_and_publishes_what_it_publishes(broker: Broker) -> None:
    for app in _apps(broker):
        entry = broker.catalog.services[app]
        with broker.channel(*broker.user(app)) as channel:
            for key in entry.publishes:
                channel.queue_declare(broker.queue(key), durable=True)
                channel.basic_publish("", broker.queue(key), f"from {app}".encode())
            for key in entry.consumes:
                channel.queue_declare(broker.queue(key), durable=True)
                channel.basic_publish("", broker.queue(key), f"to {app}".encode())
                assert f"to {app}".encode() in _drain(channel, broker.queue(key)), (
                    f"{app} did not get its message back from {broker.queue(key)}"
                )


def test_an_app_cannot_declare_read_purge_or_delete_another_apps_queue(broker: Broker) -> None:
    admin = broker.rabbit.login()
    checked = 0
    for app in _apps(broker):
        for key in broker.catalog.queues:
            if app in _owners(broker, key):
                continue
            queue = broker.queue(key)
            with broker.channel(*admin) as channel:
                channel.queue_declare(queue, durable=True)
            for action in ACTIONS:
                assert broker.refused(app, action, queue), (app, action, queue)
            checked += 1
    assert checked > 0, "the catalog gives every app every queue: nothing to refuse"


def test_an_app_that_only_publishes_to_a_queue_cannot_consume_from_it(broker: Broker) -> None:
    checked = 0
    for app in _apps(broker):
        entry = broker.catalog.services[app]
        for key in set(entry.publishes) - set(entry.consumes):
            queue = broker.queue(key)
            assert broker.refused(app, "consume", queue), (app, queue)
            checked += 1
    assert checked > 0


def test_apps_are_refused_on_the_default_vhost_and_with_a_wrong_password(broker: Broker) -> None:
    for app in _apps(broker):
        username, password = broker.user(app)
        refused = pika.exceptions.AMQPConnectionError
        with pytest.raises(refused), broker.channel(username, password, vhost="/"):
            pass
        with pytest.raises(refused), broker.channel(username, password + "x"):
            pass


def test_the_administrator_still_manages_the_vhost(broker: Broker) -> None:
    username, password = broker.rabbit.login()
    assert username == ADMIN_USER
    with broker.channel(username, password) as channel:
        channel.queue_declare("operator-scratch", auto_delete=True)
        channel.queue_delete("operator-scratch")
    status, body = broker.rabbit.management("/api/whoami", username, password)
    assert status == 200
    assert isinstance(body, dict)
    assert "administrator" in str(body["tags"])
    app_user, app_password = broker.user(_apps(broker)[0])
    assert broker.rabbit.management("/api/whoami", app_user, app_password)[0] == 401
