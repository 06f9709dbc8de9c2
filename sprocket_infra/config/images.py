"""Image pins of layer1 and layer2. Every pin is required here and given in ``config/defaults.yaml``, which
every environment file extends, so the YAML shows what each environment runs."""

from __future__ import annotations

from pydantic import Field

from sprocket_infra.config.fields import ImageRef, Strict


class ImagesConfig(Strict):
    """layer1's images (``images``)."""

    traefik: ImageRef
    socket_proxy: ImageRef


class Layer2Images(Strict):
    """Pinned images of layer2's services (``layer2.images``)."""

    redis: ImageRef
    rabbitmq: ImageRef
    influxdb: ImageRef
    grafana: ImageRef
    loki: ImageRef
    alloy: ImageRef
    telegraf: ImageRef
    gatus: ImageRef
    n8n: ImageRef
    neo4j: ImageRef
    postgres_client: ImageRef = Field(
        description="Runs psql to apply the PostgreSQL grants (managed and existing clusters only)."
    )
    forward_auth: ImageRef = Field(description="Discord forward-auth image; pin the digest you actually run.")


def pinned_release(image: str) -> str:
    """The upstream release an image pin runs: its tag without a leading ``v`` or a variant suffix
    (``traefik:v3.7.15`` -> ``3.7.15``, ``telegraf:1.40.1-alpine`` -> ``1.40.1``). Tests compare the
    binaries they run with it, so a pin and the server the tests start cannot drift apart."""
    tag = image.rpartition(":")[2]
    return tag.removeprefix("v").split("-", 1)[0]
