"""``Alloy``: ships every container's log to Loki, from every node, without any hard-coded address.

Choice and why: the original set the ``fluentd`` log driver on every service with a hard-coded
``docker_gwbridge`` gateway IP (``172.18.0.1:24224``); a different bridge subnet, or Fluentd being down,
broke or blocked logging everywhere. Here services keep Docker's default ``json-file`` driver (with size
limits, so logs survive a Loki outage on disk) and Grafana Alloy runs as a *global* service, one task per
node, that:

* asks the Swarm API (through its own read-only socket proxy on a manager, over an overlay, addressed by
  service name) which tasks run on *its* node and which container each one is;
* tails exactly those containers' ``json-file`` logs from a read-only bind of
  ``/var/lib/docker/containers``, labelled with service, node and environment;
* pushes to ``http://loki:3100`` over the monitoring network.

The Docker API's per-node endpoints (``/containers/*/logs``) would need a socket proxy on every node that
each agent could address as "the one on my node", which Swarm's service DNS cannot express; the Swarm
task list plus node-local files needs nothing node-specific but the node name, which Swarm fills in.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from sprocket_infra import naming
from sprocket_infra.constructs import hardening
from sprocket_infra.constructs.docker_socket_proxy import DockerSocketProxy
from sprocket_infra.constructs.probes import bash_probe
from sprocket_infra.constructs.service_context import ServiceContext
from sprocket_infra.constructs.swarm_service import (
    BindMount,
    ConfigFile,
    Resources,
    SwarmServiceProps,
    VolumeMount,
)

NAME = "alloy"
HTTP_PORT = 12345
CONFIG_PATH = "/etc/alloy/config.alloy"
CONTAINERS_DIR = "/var/lib/docker/containers"
STORAGE_DIR = "/var/lib/alloy/data"


def alloy_config(*, docker_host: str, push_url: str) -> str:
    """Alloy configuration: Swarm task discovery -> this node's running tasks -> file tail -> Loki."""
    environment_label = "__meta_dockerswarm_service_label_" + naming.ENVIRONMENT_LABEL.replace(".", "_")
    return f"""\
discovery.dockerswarm "tasks" {{
  host             = "{docker_host}"
  role             = "tasks"
  refresh_interval = "15s"
}}

discovery.relabel "this_node" {{
  targets = discovery.dockerswarm.tasks.targets

  rule {{
    source_labels = ["__meta_dockerswarm_node_hostname"]
    regex         = sys.env("NODE_HOSTNAME")
    action        = "keep"
  }}
  rule {{
    source_labels = ["__meta_dockerswarm_task_desired_state"]
    regex         = "running"
    action        = "keep"
  }}
  rule {{
    source_labels = ["__meta_dockerswarm_task_container_id"]
    regex         = "(.+)"
    target_label  = "__path__"
    replacement   = "{CONTAINERS_DIR}/$1/$1-json.log"
  }}
  rule {{
    source_labels = ["__meta_dockerswarm_service_name"]
    target_label  = "service"
  }}
  rule {{
    source_labels = ["__meta_dockerswarm_node_hostname"]
    target_label  = "node"
  }}
  rule {{
    source_labels = ["{environment_label}"]
    target_label  = "environment"
  }}
}}

loki.source.file "containers" {{
  targets    = discovery.relabel.this_node.output
  forward_to = [loki.process.docker_json.receiver]
}}

loki.process "docker_json" {{
  stage.docker {{}}
  forward_to = [loki.write.loki.receiver]
}}

loki.write "loki" {{
  endpoint {{
    url = "{push_url}"
  }}
}}
"""


@dataclass(frozen=True, kw_only=True)
class AlloyProps:
    context: ServiceContext
    socket_proxy: DockerSocketProxy
    """The agents' read-only proxy to the Docker API (its network and ``tcp://`` endpoint)."""
    push_url: str
    """Loki's push API."""


class Alloy(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: AlloyProps) -> None:
        super().__init__(scope, construct_id)
        context = props.context
        config = alloy_config(docker_host=props.socket_proxy.endpoint, push_url=props.push_url)
        self.service = context.routing.route(
            self,
            "alloy",
            hardening.SERVICES[NAME].apply(
                SwarmServiceProps(
                    name=NAME,
                    image=context.environment.layer2.images.alloy,
                    args=[
                        "run",
                        f"--server.http.listen-addr=0.0.0.0:{HTTP_PORT}",
                        f"--storage.path={STORAGE_DIR}",
                        CONFIG_PATH,
                    ],
                    env={"NODE_HOSTNAME": "{{.Node.Hostname}}"},
                    healthcheck=bash_probe(HTTP_PORT, "/-/ready"),
                    resources=Resources(cpus=0.5, memory_mib=256),
                    networks=[context.monitoring, props.socket_proxy.network],
                    configs=[ConfigFile(target=CONFIG_PATH, content=config)],
                    mounts=[
                        BindMount(source=CONTAINERS_DIR, target=CONTAINERS_DIR, read_only=True),
                        VolumeMount(source=naming.service_volume(NAME), target=STORAGE_DIR),
                    ],
                    replicas=None,
                )
            ),
        )
