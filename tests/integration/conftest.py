"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.openbao_dev import DevServer, openbao_dev_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """A real OpenBao dev server on 127.0.0.1, one per test module, stopped by its PID afterwards."""
    with openbao_dev_server(tmp_path_factory.mktemp("openbao")) as dev:
        yield dev
