"""The ``[mesh]`` table: typed configuration of champion sharing (distribution model 1).

A run file holds the evolution tables of :mod:`actors.evolution.config` plus an optional
``[mesh]`` table::

    [mesh]
    enabled = true
    realm = "lab"                    # the realm champions are published in
    bootstrap = ["127.0.0.1:7000"]   # seeds (HOST:PORT)
    publish_threshold = 0.01         # gain over the last published fitness to publish again

:func:`load_run_config` splits such a file into an ``EvolutionConfig`` and a
:class:`MeshSettings`, through the one configuration reader
(:func:`actors.evolution.config.load_tables`, to which ``[mesh]`` is one more
:class:`~actors.evolution.config.ConfigTable`): unknown keys, wrong types and out-of-range
values raise :class:`~actors.distributed.errors.MeshConfigError` naming the dotted key, like
the rest of the configuration. Defaults are documented once, in each field's ``doc``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.distributed.errors import MeshConfigError
from actors.evolution.config import (
    ConfigTable,
    EvolutionConfig,
    load_tables,
    loads_tables,
    option,
)

__all__ = ["MeshSettings", "load_run_config", "loads_run_config", "topic_for"]

TOPIC_PREFIX = "tweann.genotypes."
#: The values of ``[mesh] publish_on``.
PUBLISH_ON = ("generation", "evaluation")


def topic_for(morphology: str) -> str:
    """The realm-scoped pub/sub topic champions of ``morphology`` travel on."""
    return TOPIC_PREFIX + morphology


def _pos(v: Any) -> bool:
    return v is None or v > 0


def _nonneg(v: Any) -> bool:
    return v >= 0


def _addresses(v: tuple[str, ...]) -> bool:
    return all(a.rpartition(":")[2].isdigit() and a.rpartition(":")[0] for a in v)


@dataclass(frozen=True)
class MeshSettings(ConfigTable):
    """``[mesh]``: sharing champions with the other nodes of a realm."""

    TABLE = "mesh"
    ERROR = MeshConfigError

    enabled: bool = option(False, "bool", "join the mesh and share champions")
    realm: str = option(
        "megabrain", "str", "realm champions are published in", check=bool, rule="not empty"
    )
    realms_subscribed: tuple[str, ...] = option(
        (), "str_list", "realms whose champions are adopted (empty: just `realm`)"
    )
    bootstrap: tuple[str, ...] = option(
        (), "str_list", "seed nodes, HOST:PORT", check=_addresses, rule="HOST:PORT each"
    )
    listen: str = option(
        "127.0.0.1:0", "str", "QUIC listen address (port 0: OS-assigned)",
        check=lambda v: _addresses((v,)), rule="HOST:PORT",
    )  # fmt: skip
    key: str = option("", "str", "Ed25519 node key file (empty: a fresh key per run)")
    publish_threshold: float = option(
        0.0, "float", "absolute gain over the last published fitness needed to publish",
        check=_nonneg, rule=">= 0",
    )  # fmt: skip
    publish_relative: float = option(
        0.01, "float", "relative gain (share of |last published|) needed to publish",
        check=_nonneg, rule=">= 0",
    )  # fmt: skip
    publish_on: str = option(
        "evaluation", "str",
        'when the champion is offered to the policy: "generation" (after each generation) or '
        '"evaluation" (also as soon as a tuned agent beats the run\'s best, mid-generation; '
        "adoptions then join the generation under way)",
        check=lambda v: v in PUBLISH_ON, rule="generation | evaluation",
    )  # fmt: skip
    publish_interval: float = option(
        5.0, "float", "seconds between two publications at least", check=_nonneg, rule=">= 0"
    )
    publish_budget: float = option(
        300.0, "float",
        "bytes per second this node spends on champions at most, on average: publications "
        "(envelope x subscribers) and DHT stores of the champion; 0: no byte budget",
        check=_nonneg, rule=">= 0",
    )  # fmt: skip
    publish_burst: float = option(
        8192.0,
        "float",
        "bytes the publication budget may save up (its burst)",
        check=_nonneg,
        rule=">= 0",
    )
    advertise_interval: float = option(
        30.0, "float",
        "seconds between two DHT stores of the published champion (`mesh best`, catch-up) "
        "at least; a solution is stored at once", check=_nonneg, rule=">= 0",
    )  # fmt: skip
    adopt_rate: float = option(
        0.5, "float",
        "genotypes adopted per second at most from publishers with earned trust (score > 0: "
        "an accepted genotype more than its lies) -- token bucket", check=_pos, rule="> 0",
    )  # fmt: skip
    adopt_burst: int = option(
        4, "int", "adoption burst (token bucket size)", check=_pos, rule="> 0"
    )
    adopt_unknown_rate: float | None = option(
        None, "limit_float",
        "genotypes adopted per second at most from all publishers without earned trust "
        'together (fresh keys cost nothing); "none": `adopt_rate`', check=_pos, rule="> 0",
    )  # fmt: skip
    adopt_unknown_burst: int | None = option(
        None, "limit_int", 'their adoption burst; "none": `adopt_burst`', check=_pos, rule="> 0"
    )
    adopt_only_better: bool = option(
        False, "bool", "adopt only champions better than the local one (claimed fitness)"
    )
    peer_rate: float = option(
        1.0,
        "float",
        "envelopes accepted per second from one publisher at most",
        check=_pos,
        rule="> 0",
    )
    relay_rate: float = option(
        1.0, "float",
        "envelopes accepted per second at most that one connected peer relays (delivers "
        "signed by other keys), all their authors together", check=_pos, rule="> 0",
    )  # fmt: skip
    fitness_tolerance: float = option(
        1e-6,
        "float",
        "absolute slack when the claimed fitness is re-measured",
        check=_nonneg,
        rule=">= 0",
    )
    fitness_relative_tolerance: float = option(
        1e-3,
        "float",
        "relative slack (share of |claimed|) on re-measurement",
        check=_nonneg,
        rule=">= 0",
    )
    max_envelope_bytes: int = option(
        262_144, "int", "largest envelope accepted (compressed, bytes)", check=_pos, rule="> 0"
    )
    max_genotype_bytes: int = option(
        1_048_576,
        "int",
        "largest genotype accepted once decompressed (bytes)",
        check=_pos,
        rule="> 0",
    )
    max_neurons: int = option(
        2_000, "int", "neurons in an adopted genotype at most", check=_pos, rule="> 0"
    )
    trust_penalty: float = option(
        1.0, "float", "score a publisher loses per lying genotype", check=_nonneg, rule=">= 0"
    )
    relay_penalty: float = option(
        1.0, "float", "score a relay loses per lying genotype it delivered for another key",
        check=_nonneg, rule=">= 0",
    )  # fmt: skip
    distrust_below: float = option(
        -2.0, "float", "publishers and relays scoring below this are ignored",
        check=lambda v: v <= 0, rule="<= 0",
    )  # fmt: skip
    status_interval: float = option(
        30.0,
        "float",
        "seconds between refreshes of this node's DHT status record",
        check=_pos,
        rule="> 0",
    )
    resubscribe_interval: float = option(
        60.0, "float", "seconds between re-stores of the subscriptions (restarted peers)",
        check=_pos, rule="> 0",
    )  # fmt: skip
    swim_period: float = option(
        2.0,
        "float",
        "SWIM failure-detector period, seconds (probe traffic)",
        check=_pos,
        rule="> 0",
    )
    subscriber_ttl: float = option(
        30.0, "float",
        "seconds a publisher reuses the subscriber list it looked up (DHT traffic; a new "
        "subscriber also catches up from the DHT)", check=_pos, rule="> 0",
    )  # fmt: skip

    @property
    def subscribed(self) -> tuple[str, ...]:
        """The realms adopted from: ``realms_subscribed`` or just ``realm``."""
        return self.realms_subscribed or (self.realm,)


KnownNames = Mapping[str, Collection[str]]


def loads_run_config(
    text: str, *, known_names: KnownNames | None = None
) -> tuple[EvolutionConfig, MeshSettings]:
    """Parse a run file's TOML text into the evolution config and the ``[mesh]`` settings.
    Raises :class:`MeshConfigError` for the ``[mesh]`` table and
    :class:`~actors.evolution.errors.ConfigError` for the others."""
    cfg, tables = loads_tables(text, (MeshSettings,), known_names=known_names)
    return cfg, tables[MeshSettings.TABLE]


def load_run_config(
    path: str | Path, *, known_names: KnownNames | None = None
) -> tuple[EvolutionConfig, MeshSettings]:
    """Read a run file (see :func:`loads_run_config`); errors name the file."""
    cfg, tables = load_tables(path, (MeshSettings,), known_names=known_names)
    return cfg, tables[MeshSettings.TABLE]
