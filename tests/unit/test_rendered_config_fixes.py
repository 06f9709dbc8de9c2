"""Synthesized JSON pins for what running the rendered configs in their real servers found.

``tests/integration/test_rendered_*.py`` start each server from these files; the tests here keep each fix
from regressing in a plain ``make test`` without any server.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ENVIRONMENTS, Stacks
from tests.rendered import extract
from tests.synth_json import mounted_file, services


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_rabbitmq_memory_alarm_is_sized_from_the_container_limit(
    environment: str, synth_stacks: Callable[[str], Stacks]
) -> None:
    """RabbitMQ measured the node's RAM: a 1 GiB task on a 24 GiB host alarmed only past 14 GiB."""
    layer2 = synth_stacks(environment)["layer2"]
    rabbitmq = services(layer2)["rabbitmq"]
    limit = rabbitmq["task_spec"]["resources"]["limits"]["memory_bytes"]
    settings = dict(
        line.split(" = ", 1)
        for line in mounted_file(layer2, rabbitmq, "/etc/rabbitmq/conf.d/20-sprocket.conf").splitlines()
    )
    assert settings["total_memory_available_override_value"] == str(limit) == "1073741824"
    assert settings["vm_memory_high_watermark.relative"] == "0.6"
    assert "vm_memory_high_watermark.absolute" not in settings


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_telegraf_agent_uses_options_telegraf_knows(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    """``jitter`` made Telegraf 1.40 refuse the whole file; the two warnings it printed at start are
    answered by explicit choices (strict env handling, processors not re-run after aggregators)."""
    telegraf = extract(synth_stacks(environment), "telegraf", tmp_path)
    agent = tomllib.loads(telegraf.text("/etc/telegraf/telegraf.conf"))["agent"]
    assert agent["collection_jitter"] == "2s"
    assert "jitter" not in agent
    assert agent["skip_processors_after_aggregators"] is True
    assert telegraf.args == (
        "telegraf",
        "--config=/etc/telegraf/telegraf.conf",
        "--config-directory=/etc/telegraf/telegraf.d",
        "--strict-env-handling",
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_telegraf_sends_redis_the_login_redis_requires(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    """The Redis input's ``password`` is no secret-store option: ``@{docker:redis_password}`` went to Redis
    as the literal password. The input now lives in a secret file holding the value itself."""
    stacks = synth_stacks(environment)
    telegraf = extract(stacks, "telegraf", tmp_path / "telegraf")
    redis = extract(stacks, "redis", tmp_path / "redis")
    main = tomllib.loads(telegraf.text("/etc/telegraf/telegraf.conf"))
    assert "redis" not in main["inputs"]
    assert "@{docker:redis" not in telegraf.text("/etc/telegraf/telegraf.conf")
    (section,) = tomllib.loads(telegraf.text("/etc/telegraf/telegraf.d/redis.conf"))["inputs"]["redis"]
    assert section["servers"] == ["tcp://redis:6379"]
    # Redis holds the digest of exactly the password Telegraf sends, for the user Telegraf names.
    digest = hashlib.sha256(section["password"].encode()).hexdigest()
    assert f"user {section['username']} on #{digest} " in redis.text("/run/secrets/redis-users.conf")
    assert section["password"] == telegraf.value_of("-redis-monitoring_")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_traefik_entrypoints_choose_which_encoded_characters_pass(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    """Traefik 3.7 warned at start while these were unset (and then let an encoded NUL or backslash in)."""
    traefik = extract(synth_stacks(environment), "traefik", tmp_path)
    entrypoints = yaml.safe_load(traefik.text("/etc/traefik/traefik.yml"))["entryPoints"]
    assert set(entrypoints) == {"web", "websecure", "ping"}
    for entrypoint in entrypoints.values():
        assert entrypoint["http"]["encodedCharacters"] == {
            "allowEncodedSlash": True,
            "allowEncodedPercent": True,
            "allowEncodedSemicolon": True,
            "allowEncodedQuestionMark": True,
            "allowEncodedHash": True,
            "allowEncodedBackSlash": False,
            "allowEncodedNullCharacter": False,
        }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_gatus_reads_only_our_files_and_sets_the_client_per_endpoint(
    environment: str, synth_stacks: Callable[[str], Stacks], tmp_path: Path
) -> None:
    """With ``GATUS_CONFIG_PATH=/config`` Gatus merged the image's demo ``/config/config.yaml`` (public
    example endpoints) into ours; and a top-level ``client`` is no Gatus key, so it was ignored."""
    gatus = extract(synth_stacks(environment), "gatus", tmp_path)
    assert gatus.env["GATUS_CONFIG_PATH"] == "/config/sprocket"
    assert sorted(gatus.files) == [
        "/config/sprocket/alerting.yaml",
        "/config/sprocket/base.yaml",
        "/config/sprocket/endpoints.yaml",
    ]
    assert "client" not in yaml.safe_load(gatus.text("/config/sprocket/base.yaml"))
    endpoints = yaml.safe_load(gatus.text("/config/sprocket/endpoints.yaml"))["endpoints"]
    assert endpoints
    assert all(endpoint["client"] == {"timeout": "10s"} for endpoint in endpoints)
