"""Environment files: broken ones fail with file, key and expectation named; the engines' rules apply.

Every rule has a value it refuses and a value it accepts, tried on a copy of a shipped environment's
data (``parse_environment`` merges it over ``config/defaults.yaml`` as loading a file does). File-level
problems are tried on files in a temporary config directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from sprocket_infra.config import CONFIG_DIR, ConfigError, load_environment, parse_environment
from sprocket_infra.config.strict_yaml import MAX_BYTES, MAX_DEPTH
from tests.unit.fixture_environments import shipped_data, with_setting

SHIPPED = {name: shipped_data(name) for name in ("local", "lan", "prod")}


def _with(base: str, path: str, value: Any) -> dict[str, Any]:
    return with_setting(shipped_data(base), path, value)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_environment(data, source="config/test.yaml")
    return str(caught.value)


def test_environment_defaults_to_sprocket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPROCKET_ENV", "lan")
    assert load_environment().name == "lan"
    monkeypatch.delenv("SPROCKET_ENV")
    assert load_environment().name == "local"


# --- engine rules: (base environment, key, refused value, expected text), (..., accepted value) ----------

REFUSED = {
    "bucket name too short": ("prod", "vault.storage.bucket", "b", "not a valid S3/Spaces bucket name"),
    "bucket name IP-shaped": ("prod", "state.bucket", "192.168.1.10", "shaped like an IP address"),
    "bucket name with '..'": ("prod", "state.bucket", "my..state", "two adjacent periods"),
    "bucket name reserved prefix": ("prod", "state.bucket", "xn--state", "reserved prefix"),
    "unknown DigitalOcean region": ("prod", "digitalocean.region", "nyc4", "unknown DigitalOcean region"),
    "endpoint of a region without Spaces": (
        "prod",
        "vault.storage.endpoint",
        "https://nyc1.digitaloceanspaces.com",
        "'nyc1' offers no Spaces",
    ),
    "constraint without an operator": ("local", "swarm.placement.storage", ["node.role=manager"], "'<key>=="),
    "constraint on an unknown key": (
        "local",
        "swarm.placement.ingress",
        ["node.name==a"],
        "unknown constraint key",
    ),
    "constraint on a role that does not exist": (
        "local",
        "swarm.placement.manager",
        ["node.role==boss"],
        "node.role",
    ),
    "image with an upper-case repository": (
        "local",
        "images.traefik",
        "Traefik:v3.7.15",
        "repository part 'Traefik'",
    ),
    "image with an empty path component": (
        "local",
        "layer2.images.redis",
        "library//redis:8.2.1",
        "repository part ''",
    ),
    "image with a bad registry host": (
        "local",
        "images.socket_proxy",
        "-reg.io/proxy:1.0",
        "registry host '-reg.io'",
    ),
    "threshold 1 of several shares": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "key_shares": 5, "key_threshold": 1},
        "at least 2",
    ),
    "threshold above the shares": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "key_shares": 2, "key_threshold": 3},
        "must not exceed",
    ),
    "ACME for a private name": (
        "lan",
        "routing.acme",
        {"ca": "staging", "email": "a@b.cd"},
        "needs a public DNS",
    ),
    "ACME for localhost": (
        "local",
        "routing.acme",
        {"ca": "production", "email": "a@b.cd"},
        "needs a public DNS",
    ),
    "domain that is an IP": ("lan", "routing.domain", "192.168.4.39", "not an IP address"),
    "server IP 0.0.0.0": ("lan", "routing.server_ip", "0.0.0.0", "not 0.0.0.0"),  # noqa: S104
    "server IP equals Tailscale IP": (
        "lan",
        "routing.server_ip",
        "100.110.185.84",
        "are both 100.110.185.84",
    ),
    "database host with a port": ("lan", "layer2.postgres.host", "192.168.4.39:5432", "without ':<port>'"),
    "database host 0.0.0.0": ("lan", "layer2.postgres.host", "0.0.0.0", "not 0.0.0.0"),  # noqa: S104
    "database host with a scheme": ("lan", "layer2.postgres.host", "postgres://db", "without scheme"),
    "firewall open to anyone": (
        "prod",
        "layer2.postgres.trusted_sources",
        [{"type": "ip_addr", "value": "0.0.0.0/0"}],
        "admits anyone",
    ),
    "firewall droplet by name": (
        "prod",
        "layer2.postgres.trusted_sources",
        [{"type": "droplet", "value": "web"}],
        "id",
    ),
    "keys dir /": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "keys_dir": "/"},
        "/ is a system directory",
    ),
    "keys dir /etc": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "keys_dir": "/etc/"},
        "/etc is a system directory",
    ),
    "keys dir with ..": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "keys_dir": "/var/lib/../../etc"},
        "without '.', '..'",
    ),
    "bool where a number goes": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "key_shares": True},
        "not true/false",
    ),
    "number where a bool goes": ("local", "platform.alpha_restrictions", 1, "write true or false"),
    "yes where a bool goes": ("local", "swarm.encrypt_overlays", "yes", "write true or false"),
    "subdomain that is no DNS label": (
        "local",
        "vault.subdomain",
        "Vault_1",
        "vault.subdomain: expected a lower",
    ),
}

ACCEPTED = {
    "bucket name with dots and digits": ("prod", "state.bucket", "sprocket.state-2"),
    "Spaces region": ("prod", "digitalocean.region", "fra1"),
    "endpoint of a Spaces region": ("prod", "vault.storage.endpoint", "https://ams3.digitaloceanspaces.com"),
    "endpoint outside DigitalOcean": ("prod", "state.endpoint", "https://s3.eu-west-1.amazonaws.com"),
    "constraints on labels and hostname": (
        "local",
        "swarm.placement.storage",
        ["node.labels.sprocket.storage==true", "node.hostname!=old-box"],
    ),
    "image on a private registry with port": (
        "local",
        "images.socket_proxy",
        "registry.lan:5000/ops/proxy:1.0",
    ),
    "image by digest": ("local", "layer2.images.redis", "redis@sha256:" + "a" * 64),
    "one share, threshold 1": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "key_shares": 1, "key_threshold": 1},
    ),
    "ACME for a public name": (
        "local",
        "routing",
        {"domain": "sprocket.example.org", "acme": {"ca": "staging", "email": "a@b.cd"}},
    ),
    "database host name": ("lan", "layer2.postgres.host", "db.sprocket.lan"),
    "firewall of one address": (
        "prod",
        "layer2.postgres.trusted_sources",
        [{"type": "ip_addr", "value": "203.0.113.7"}],
    ),
    "keys dir of its own": ("prod", "vault.unseal", {"kind": "shamir-file", "keys_dir": "/srv/vault-keys/"}),
    "count as a number": (
        "prod",
        "vault.unseal",
        {"kind": "shamir-file", "key_shares": 3, "key_threshold": 2},
    ),
    "postgres version as a number": (
        "prod",
        "layer2.postgres",
        {
            "kind": "managed",
            "name": "sprocket-db",
            "version": 16,
            "trusted_sources": [{"type": "tag", "value": "sprocket-swarm"}],
        },
    ),
    "snowflake written without quotes": ("local", "layer2.forward_auth", {"client_id": 846086564479631372}),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_fails_when_an_engine_would_refuse_the_value(case: tuple[str, str, Any, str]) -> None:
    base, key, value, expected = case
    message = _error(_with(base, key, value))
    assert message.startswith("config/test.yaml: "), message
    assert expected in message, message
    assert len(message.splitlines()) == 1, message


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepts_what_the_engine_accepts(case: tuple[str, str, Any]) -> None:
    base, key, value = case
    parse_environment(_with(base, key, value), source="config/test.yaml")


def test_a_snowflake_written_as_a_number_is_the_same_id() -> None:
    environment = parse_environment(
        _with(
            "local", "layer2.forward_auth", {"guild_id": 856290331279884288, "client_id": 846086564479631372}
        ),
        source="t",
    )
    assert environment.layer2.forward_auth.guild_id == "856290331279884288"
    assert environment.layer2.forward_auth.client_id == "846086564479631372"


def test_fails_with_every_problem_at_once() -> None:
    data = _with("local", "routing.domain", "BAD")
    data["vault"] = {"storage": {"kind": "s3"}}
    lines = _error(data).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("config/test.yaml: ") for line in lines)


def test_a_huge_bad_value_is_shown_cut_short() -> None:
    message = _error(_with("local", "routing.domain", "x" * 5_000_000 + "!"))
    assert len(message) < 300, message[:300]
    assert message.endswith("...')") or "..." in message


# --- natural YAML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["swarm", "layer2", "platform", "digitalocean"])
def test_an_emptied_section_takes_the_defaults(section: str) -> None:
    data = _with("local", section, None)
    assert parse_environment(data, source="t") == parse_environment(
        {k: v for k, v in SHIPPED["local"].items() if k != section}, source="t"
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("platform.image_tag", 1.10, "YAML reads it as a number; write it in quotes, e.g. '1.1'"),
        ("layer2.postgres", None, "the key is there but empty"),
        ("layer2.forward_auth.rules", None, "the key is there but empty"),
        ("platform.bot_prefix", True, "YAML reads it as a boolean"),
    ],
)
def test_explains_how_to_write_what_yaml_read_otherwise(key: str, value: Any, expected: str) -> None:
    assert expected in _error(_with("local", key, value))


# --- files ---------------------------------------------------------------------------------------------


def _config_dir(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


LOCAL_TEXT = (CONFIG_DIR / "local.yaml").read_text()


def test_fails_when_a_key_is_repeated_naming_both_lines(tmp_path: Path) -> None:
    text = LOCAL_TEXT + "routing:\n  domain: other.localhost\n"
    first = LOCAL_TEXT.splitlines().index("routing:") + 1
    last = len(LOCAL_TEXT.splitlines()) + 1
    with pytest.raises(ConfigError) as caught:
        load_environment("local", config_dir=_config_dir(tmp_path, "local", text))
    assert str(caught.value) == (
        f"{tmp_path / 'local.yaml'}: line {last}: duplicate key 'routing' (first on line {first}); "
        "a repeated key would silently replace the first"
    )


def test_a_repeated_key_inside_a_section_fails_too(tmp_path: Path) -> None:
    text = "name: local\nrouting:\n  domain: localhost\n  domain: example.org\n"
    with pytest.raises(ConfigError, match=r"line 4: duplicate key 'domain' \(first on line 3\)"):
        load_environment("local", config_dir=_config_dir(tmp_path, "local", text))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: local\nrouting: {domain: \xff}\n", "line 2: not UTF-8 text"),
        ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), f"nested more than {MAX_DEPTH} levels deep"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "aliases expand to more than",
        ),
        ("name: " + "x" * (MAX_BYTES + 1), "larger than the"),
        ("name: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping of settings at the top level"),
    ],
    ids=["not UTF-8", "too deep", "alias bomb", "oversized", "broken YAML", "not a mapping"],
)
def test_fails_with_one_line_when_the_file_is_unusable(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environment("local", config_dir=_config_dir(tmp_path, "local", content))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'local.yaml'}: "), message
    assert expected in message
    assert len(message.splitlines()) == 1


def test_fails_when_the_environment_file_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").mkdir()
    with pytest.raises(ConfigError, match=r"local\.yaml: is a directory, expected a YAML file$"):
        load_environment("local", config_dir=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_fails_when_the_environment_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(LOCAL_TEXT)
    path.chmod(0)
    with pytest.raises(ConfigError, match=r"local\.yaml: not readable \(permission denied\)"):
        load_environment("local", config_dir=tmp_path)


def test_fails_when_the_environment_name_is_no_name() -> None:
    with pytest.raises(ConfigError, match=r"^SPROCKET_ENV: expected an environment name"):
        load_environment("../etc/passwd")


def test_fails_when_file_name_and_name_disagree(tmp_path: Path) -> None:
    (tmp_path / "staging.yaml").write_text(LOCAL_TEXT)
    with pytest.raises(ConfigError, match=r"name: expected 'staging' to match the file name \(got 'local'\)"):
        load_environment("staging", config_dir=tmp_path)


def test_fails_when_environment_is_unknown() -> None:
    with pytest.raises(
        ConfigError,
        match=r"config/nowhere.yaml: no such environment file \(known environments: lan, local, prod\)",
    ):
        load_environment("nowhere")


def test_the_defaults_file_is_no_environment() -> None:
    with pytest.raises(ConfigError, match=r"config/defaults.yaml: no such environment file"):
        load_environment("defaults")


# --- the defaults file ---------------------------------------------------------------------------------


def test_an_environment_overrides_one_pin_and_keeps_the_others() -> None:
    environment = parse_environment(_with("local", "layer2.images", {"redis": "redis:8.2.2"}), source="t")
    shipped = load_environment("local").layer2.images
    assert environment.layer2.images == shipped.model_copy(update={"redis": "redis:8.2.2"})


def test_a_bad_default_is_reported_against_the_defaults_file(tmp_path: Path) -> None:
    defaults = yaml.safe_load((CONFIG_DIR / "defaults.yaml").read_text())
    defaults["layer2"]["images"]["redis"] = "redis:latest"
    (tmp_path / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    (tmp_path / "local.yaml").write_text(LOCAL_TEXT)
    with pytest.raises(ConfigError) as caught:
        load_environment("local", config_dir=tmp_path)
    assert str(caught.value).startswith(
        f"{tmp_path / 'defaults.yaml'}: layer2.images.redis: expected a pinned"
    )
