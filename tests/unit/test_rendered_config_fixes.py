"""Synthesized JSON pins for what running the rendered configs in their real servers found.

``tests/integration/test_rendered_*.py`` start each server from these files; the tests here keep each fix
from regressing in a plain ``make test`` without any server.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import ENVIRONMENTS, Stacks
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
