"""The socket proxy's route patterns and HAProxy file, as strings (the proxy itself runs in
tests/integration/test_docker_api_allowlist.py)."""

from __future__ import annotations

import re

import pytest

from sprocket_infra.config import load_environment
from sprocket_infra.constructs.docker_api_allowlist import ApiRoute, haproxy_config, routes
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxyProps


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/_ping", r"^(/v[0-9]+\.[0-9]+)?/_ping$"),
        ("/containers/{id}/stats", r"^(/v[0-9]+\.[0-9]+)?/containers/[A-Za-z0-9][A-Za-z0-9_.-]*/stats$"),
    ],
)
def test_route_pattern(path: str, pattern: str) -> None:
    assert ApiRoute(path=path, why="test").pattern == pattern


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1.47/containers/abc/stats", True),
        ("/containers/abc/json", True),
        ("/containers/abc/archive", False),
        ("/containers/abc%2Farchive/json", False),
        ("/containers/../json", False),
        ("/containers/abc/json/", False),
        ("/v1/containers/json", False),
    ],
)
def test_patterns_match_only_whole_metadata_paths(path: str, allowed: bool) -> None:
    patterns = [re.compile(route.pattern) for route in routes(("CONTAINERS",))]
    assert any(pattern.search(path) for pattern in patterns) is allowed


def test_config_denies_other_methods_before_any_route() -> None:
    config = haproxy_config(sections=("PING",), port=2375, socket="/var/run/docker.sock")
    assert config.index("unless METH_GET") < config.index("acl allowed_route")
    assert config.count("acl allowed_route") == 1
    assert "bind :2375\n" in config
    assert "server dockerd /var/run/docker.sock\n" in config


def test_fails_when_a_section_is_unknown() -> None:
    with pytest.raises(ValueError, match=r"unknown API sections \['EXEC'\]"):
        DockerSocketProxyProps(
            environment=load_environment("local"), network=_Net(), allowed_sections=("PING", "EXEC")
        )


def test_fails_when_post_is_asked_for() -> None:
    with pytest.raises(ValueError, match="POST would allow changes"):
        DockerSocketProxyProps(
            environment=load_environment("local"), network=_Net(), allowed_sections=("POST",)
        )


class _Net:
    name = "n"
    id = "n"
