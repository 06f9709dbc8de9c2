"""``vault.hcl`` from the pure renderer: every stanza pinned as literal text (seal, retry_join, cluster)."""

from __future__ import annotations

import pytest

from sprocket_infra.vault.server_config import (
    AwsKmsSeal,
    RaftStorage,
    S3Storage,
    ServerConfig,
    TransitSeal,
    render,
)

SINGLE_RAFT = """\
ui            = true
api_addr      = "http://vault.localhost"
cluster_addr  = "http://127.0.0.1:8201"

# TLS ends at Traefik; this listener is reachable only on the ingress overlay.
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

storage "raft" {
  path    = "/vault/data"
  node_id = "vault-1"
}
"""

HA_TRANSIT = """\
ui            = true
api_addr      = "http://vault-2:8200"
cluster_addr  = "https://vault-2:8201"

# TLS ends at Traefik; this listener is reachable only on the ingress overlay.
listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_disable     = true
}

storage "raft" {
  path    = "/vault/data"
  node_id = "vault-2"

  retry_join {
    leader_api_addr = "http://vault:8200"
  }

  retry_join {
    leader_api_addr = "http://vault-3:8200"
  }
}

seal "transit" {
  address    = "https://seal.example.net:8200"
  mount_path = "transit/"
  key_name   = "sprocket"
}
"""

S3_VAULT_KMS_TAIL = """\
storage "s3" {
  bucket   = "b"
  endpoint = "https://nyc3.digitaloceanspaces.com"
  region   = "us-east-1"
  path     = "vault_storage"
}

seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "${aws_kms_key.k.key_id}"
}
"""


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            ServerConfig(
                api_addr="http://vault.localhost",
                cluster_addr="http://127.0.0.1:8201",
                listen="0.0.0.0:8200",
                storage=RaftStorage(path="/vault/data", node_id="vault-1"),
            ),
            SINGLE_RAFT,
            id="single-node-raft-shamir",
        ),
        pytest.param(
            ServerConfig(
                api_addr="http://vault-2:8200",
                cluster_addr="https://vault-2:8201",
                listen="0.0.0.0:8200",
                cluster_listen="0.0.0.0:8201",
                storage=RaftStorage(
                    path="/vault/data",
                    node_id="vault-2",
                    retry_join=("http://vault:8200", "http://vault-3:8200"),
                ),
                seal=TransitSeal(address="https://seal.example.net:8200", key_name="sprocket"),
            ),
            HA_TRANSIT,
            id="ha-node-transit",
        ),
    ],
)
def test_renders_exact_text(config: ServerConfig, expected: str) -> None:
    assert render(config) == expected


def test_kms_key_id_token_and_mlock_and_audit() -> None:
    text = render(
        ServerConfig(
            api_addr="https://vault.example",
            cluster_addr="http://127.0.0.1:8201",
            listen="0.0.0.0:8200",
            storage=S3Storage(
                bucket="b",
                endpoint="https://nyc3.digitaloceanspaces.com",
                region="us-east-1",
                path="vault_storage",
            ),
            seal=AwsKmsSeal(region="eu-west-1", kms_key_id="${aws_kms_key.k.key_id}"),
            disable_mlock=True,
            audit_to_stdout=True,
        )
    )
    assert text.startswith(
        'ui            = true\ndisable_mlock = true\napi_addr      = "https://vault.example"\n'
    )
    assert S3_VAULT_KMS_TAIL in text
    assert text.index('seal "awskms"') < text.index('audit "file" "stdout"')


def test_performance_multiplier_only_when_asked() -> None:
    storage = RaftStorage(path="/d", node_id="n", performance_multiplier=1)
    config = ServerConfig(api_addr="a", cluster_addr="c", listen="l", storage=storage)
    assert '  node_id = "n"\n  performance_multiplier = 1\n}' in render(config)
