"""The ``[mesh]`` table: typed configuration of champion sharing (distribution model 1).

A run file holds the evolution tables of :mod:`actors.evolution.config` plus an optional
``[mesh]`` table::

    [mesh]
    enabled = true
    realm = "lab"                    # the realm champions are published in
    bootstrap = ["127.0.0.1:7000"]   # seeds (HOST:PORT)
    publish_threshold = 0.01         # gain over the last published fitness to publish again

:func:`load_run_config` splits such a file into an ``EvolutionConfig`` and a
:class:`MeshSettings`; unknown keys, wrong types and out-of-range values raise
:class:`~actors.distributed.errors.MeshConfigError` naming the dotted key, like the rest of
the configuration. Defaults are documented once, in each field's ``doc``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from actors.distributed.errors import MeshConfigError
from actors.evolution.config import EvolutionConfig, config_from_mapping
from actors.evolution.constraint import check_value
from actors.evolution.errors import ConfigError

__all__ = ["MeshSettings", "load_run_config", "loads_run_config", "mesh_field_docs", "topic_for"]

TOPIC_PREFIX = "tweann.genotypes."
#: The values of ``[mesh] publish_on``.
PUBLISH_ON = ("generation", "evaluation")


def topic_for(morphology: str) -> str:
    """The realm-scoped pub/sub topic champions of ``morphology`` travel on."""
    return TOPIC_PREFIX + morphology


def _opt(default: Any, kind: str, doc: str, check: Any = None, rule: str = "") -> Any:
    meta = {"kind": kind, "doc": doc, "choices": None, "check": check, "rule": rule}
    if isinstance(default, tuple | list):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _pos(v: Any) -> bool:
    return v is None or v > 0


def _nonneg(v: Any) -> bool:
    return v >= 0


def _addresses(v: tuple[str, ...]) -> bool:
    return all(a.rpartition(":")[2].isdigit() and a.rpartition(":")[0] for a in v)


@dataclass(frozen=True)
class MeshSettings:
    """``[mesh]``: sharing champions with the other nodes of a realm."""

    enabled: bool = _opt(False, "bool", "join the mesh and share champions")
    realm: str = _opt("megabrain", "str", "realm champions are published in", bool, "not empty")
    realms_subscribed: tuple[str, ...] = _opt(
        (), "str_list", "realms whose champions are adopted (empty: just `realm`)"
    )
    bootstrap: tuple[str, ...] = _opt((), "str_list", "seed nodes, HOST:PORT", _addresses,
                                      "HOST:PORT each")  # fmt: skip
    listen: str = _opt("127.0.0.1:0", "str", "QUIC listen address (port 0: OS-assigned)",
                       lambda v: _addresses((v,)), "HOST:PORT")  # fmt: skip
    key: str = _opt("", "str", "Ed25519 node key file (empty: a fresh key per run)")
    publish_threshold: float = _opt(
        0.0, "float", "absolute gain over the last published fitness needed to publish",
        _nonneg, ">= 0",
    )  # fmt: skip
    publish_relative: float = _opt(
        0.01, "float", "relative gain (share of |last published|) needed to publish",
        _nonneg, ">= 0",
    )  # fmt: skip
    publish_on: str = _opt(
        "evaluation", "str",
        'when the champion is offered to the policy: "generation" (after each generation) or '
        '"evaluation" (also as soon as a tuned agent beats the run\'s best, mid-generation; '
        "adoptions then join the generation under way)",
        lambda v: v in PUBLISH_ON, "generation | evaluation",
    )  # fmt: skip
    publish_interval: float = _opt(
        5.0, "float", "seconds between two publications at least", _nonneg, ">= 0"
    )
    publish_budget: float = _opt(
        300.0, "float",
        "bytes per second this node spends on champions at most, on average: publications "
        "(envelope x subscribers) and DHT stores of the champion; 0: no byte budget",
        _nonneg, ">= 0",
    )  # fmt: skip
    publish_burst: float = _opt(
        8192.0, "float", "bytes the publication budget may save up (its burst)", _nonneg, ">= 0"
    )
    advertise_interval: float = _opt(
        30.0, "float",
        "seconds between two DHT stores of the published champion (`mesh best`, catch-up) "
        "at least; a solution is stored at once", _nonneg, ">= 0",
    )  # fmt: skip
    adopt_rate: float = _opt(
        0.5, "float",
        "genotypes adopted per second at most from publishers with earned trust (score > 0: "
        "an accepted genotype more than its lies) -- token bucket", _pos, "> 0",
    )  # fmt: skip
    adopt_burst: int = _opt(4, "int", "adoption burst (token bucket size)", _pos, "> 0")
    adopt_unknown_rate: float | None = _opt(
        None, "limit_float",
        "genotypes adopted per second at most from all publishers without earned trust "
        'together (fresh keys cost nothing); "none": `adopt_rate`', _pos, "> 0",
    )  # fmt: skip
    adopt_unknown_burst: int | None = _opt(
        None, "limit_int", 'their adoption burst; "none": `adopt_burst`', _pos, "> 0"
    )
    adopt_only_better: bool = _opt(
        False, "bool", "adopt only champions better than the local one (claimed fitness)"
    )
    peer_rate: float = _opt(
        1.0, "float", "envelopes accepted per second from one publisher at most", _pos, "> 0"
    )
    relay_rate: float = _opt(
        1.0, "float",
        "envelopes accepted per second at most that one connected peer relays (delivers "
        "signed by other keys), all their authors together", _pos, "> 0",
    )  # fmt: skip
    fitness_tolerance: float = _opt(
        1e-6, "float", "absolute slack when the claimed fitness is re-measured", _nonneg, ">= 0"
    )
    fitness_relative_tolerance: float = _opt(
        1e-3, "float", "relative slack (share of |claimed|) on re-measurement", _nonneg, ">= 0"
    )
    max_envelope_bytes: int = _opt(
        262_144, "int", "largest envelope accepted (compressed, bytes)", _pos, "> 0"
    )
    max_genotype_bytes: int = _opt(
        1_048_576, "int", "largest genotype accepted once decompressed (bytes)", _pos, "> 0"
    )
    max_neurons: int = _opt(2_000, "int", "neurons in an adopted genotype at most", _pos, "> 0")
    trust_penalty: float = _opt(
        1.0, "float", "score a publisher loses per lying genotype", _nonneg, ">= 0"
    )
    relay_penalty: float = _opt(
        1.0, "float", "score a relay loses per lying genotype it delivered for another key",
        _nonneg, ">= 0",
    )  # fmt: skip
    distrust_below: float = _opt(
        -2.0, "float", "publishers and relays scoring below this are ignored",
        lambda v: v <= 0, "<= 0",
    )  # fmt: skip
    status_interval: float = _opt(
        30.0, "float", "seconds between refreshes of this node's DHT status record", _pos, "> 0"
    )
    resubscribe_interval: float = _opt(
        60.0, "float", "seconds between re-stores of the subscriptions (restarted peers)",
        _pos, "> 0",
    )  # fmt: skip
    swim_period: float = _opt(
        2.0, "float", "SWIM failure-detector period, seconds (probe traffic)", _pos, "> 0"
    )
    subscriber_ttl: float = _opt(
        30.0, "float",
        "seconds a publisher reuses the subscriber list it looked up (DHT traffic; a new "
        "subscriber also catches up from the DHT)", _pos, "> 0",
    )  # fmt: skip

    TABLE = "mesh"

    def __post_init__(self) -> None:
        for f in fields(self):
            try:
                value = check_value(f"mesh.{f.name}", f.metadata, getattr(self, f.name))
            except ConfigError as exc:
                raise MeshConfigError(str(exc)) from None
            object.__setattr__(self, f.name, value)

    @property
    def subscribed(self) -> tuple[str, ...]:
        """The realms adopted from: ``realms_subscribed`` or just ``realm``."""
        return self.realms_subscribed or (self.realm,)

    @classmethod
    def from_table(cls, table: Any) -> MeshSettings:
        if not isinstance(table, Mapping):
            raise MeshConfigError(f"mesh: expected a table, got {table!r}")
        names = {f.name for f in fields(cls)}
        for key in table:
            if key not in names:
                raise MeshConfigError(f"unknown key mesh.{key}")
        return cls(**table)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: list(getattr(self, f.name))
            if isinstance(getattr(self, f.name), tuple)
            else getattr(self, f.name)
            for f in fields(self)
        }


def loads_run_config(text: str) -> tuple[EvolutionConfig, MeshSettings]:
    """Parse a run file's TOML text into the evolution config and the ``[mesh]`` settings.
    Raises :class:`MeshConfigError` for the ``[mesh]`` table and
    :class:`~actors.evolution.errors.ConfigError` for the others."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}") from exc
    mesh = MeshSettings.from_table(data.pop("mesh", {}))
    return config_from_mapping(data), mesh


def load_run_config(path: str | Path) -> tuple[EvolutionConfig, MeshSettings]:
    """Read a run file (see :func:`loads_run_config`); errors name the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    try:
        return loads_run_config(text)
    except MeshConfigError as exc:
        raise MeshConfigError(f"{path}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def mesh_field_docs() -> list[tuple[str, Any, str]]:
    """``[(key, default, doc)]`` of the ``[mesh]`` table, for documentation."""
    return [
        (f.name, None if f.default is MISSING else f.default, f.metadata["doc"])
        for f in fields(MeshSettings)
    ]
