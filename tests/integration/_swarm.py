"""A one-node Docker swarm for the Swarm backend's tests and benchmark."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["one_node_swarm"]


@contextlib.contextmanager
def one_node_swarm(engine: Any) -> Iterator[None]:
    """A one-node swarm on this test engine, left as it was found: if the engine was
    not in a swarm, it leaves it again and the bridge `swarm init` made is removed."""
    client = engine.client
    active = client.info()["Swarm"]["LocalNodeState"] == "active"
    networks = {n.name for n in client.networks.list()}
    if not active:
        client.swarm.init(advertise_addr="127.0.0.1")
    try:
        yield
    finally:
        if not active:
            client.swarm.leave(force=True)
            for network in client.networks.list():
                if network.name not in networks and network.name == "docker_gwbridge":
                    network.remove()

