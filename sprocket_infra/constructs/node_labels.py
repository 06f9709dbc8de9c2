"""``NodeLabels``: the Swarm node labels the environment file declares, applied at deploy time.

The Docker provider has no node resource, so each node's labels are a ``terraform_data`` whose
provisioners run the Docker CLI against ``DOCKER_HOST`` (the manager the providers already use): create
adds the labels, destroy removes exactly the ones it added. Changing a node's labels replaces its
``terraform_data``, which removes the old set and adds the new one; an unchanged set plans nothing.

Placement constraints read these labels (``sprocket_infra/placement.py``); a task whose constraint no
node satisfies stays pending, which is what an unlabelled node would cause.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import ITerraformDependable, LocalExecProvisioner, TerraformResource
from constructs import Construct

from sprocket_infra.config.hosts import Node

JOIN_WAIT_ATTEMPTS = 60
JOIN_WAIT_INTERVAL_S = 10
"""A new droplet joins the Swarm a few minutes after it boots; the label command waits up to 10 min."""


def label_command(node: str, labels: Mapping[str, str], *, remove: bool = False) -> str:
    """The shell command that adds (or removes) ``labels`` on ``node``, retried while it has not joined."""
    flags = (
        [f"--label-rm {shlex.quote(key)}" for key in sorted(labels)]
        if remove
        else [f"--label-add {shlex.quote(f'{key}={value}')}" for key, value in sorted(labels.items())]
    )
    update = f"docker node update {' '.join(flags)} {shlex.quote(node)}"
    if remove:
        return f"{update} || true"  # a node already gone from the Swarm has no labels left to remove
    return (
        f"for attempt in $(seq {JOIN_WAIT_ATTEMPTS}); do {update} >/dev/null && exit 0; "
        f"sleep {JOIN_WAIT_INTERVAL_S}; done; "
        f"echo 'node {node} did not join the Swarm; labels not set' >&2; exit 1"
    )


@dataclass(frozen=True, kw_only=True)
class NodeLabelsProps:
    nodes: Sequence[Node]
    """Every declared node; nodes without labels get nothing."""
    made_by: Mapping[str, ITerraformDependable] = field(default_factory=dict)
    """Node name -> the resource it comes from (its droplet). Left out: the nodes exist already."""


class NodeLabels(Construct):
    """One ``terraform_data`` per labelled node, at ``<id>/<node name>``."""

    def __init__(self, scope: Construct, construct_id: str, props: NodeLabelsProps) -> None:
        super().__init__(scope, construct_id)
        for node in props.nodes:
            if not node.labels:
                continue
            remove = label_command(node.name, node.labels, remove=True)
            # A plain ``terraform_data`` resource: cdktf's DataResource class runs ``terraform version``
            # at synth to check for 1.4+, which a machine with only OpenTofu (or no engine) fails.
            labels = TerraformResource(
                self,
                node.name,
                terraform_resource_type="terraform_data",
                depends_on=[props.made_by[node.name]] if node.name in props.made_by else None,
                provisioners=[
                    LocalExecProvisioner(
                        type="local-exec",
                        command=label_command(node.name, node.labels),
                        interpreter=["sh", "-c"],
                    ),
                    # A destroy provisioner may only read its own resource: the command travels in input.
                    LocalExecProvisioner(
                        type="local-exec",
                        command="${self.input.remove}",
                        interpreter=["sh", "-c"],
                        when="destroy",
                    ),
                ],
            )
            labels.add_override("input", {"node": node.name, "remove": remove})
            labels.add_override("triggers_replace", {"labels": dict(sorted(node.labels.items()))})
