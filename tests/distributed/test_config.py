"""The [mesh] table: typed, frozen, unknown keys rejected, split from a run file."""

from __future__ import annotations

import dataclasses

import pytest

from actors.distributed.config import MeshSettings, load_run_config, loads_run_config, topic_for
from actors.distributed.errors import MeshConfigError
from actors.evolution.errors import ConfigError


def test_defaults_and_subscribed_realms() -> None:
    s = MeshSettings()
    assert not s.enabled and s.subscribed == ("megabrain",)
    assert MeshSettings(realm="a", realms_subscribed=["a", "b"]).subscribed == ("a", "b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.realm = "x"  # type: ignore[misc]


def test_run_file_splits_into_evolution_and_mesh(tmp_path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        '[monitor]\npopulation_size = 7\n[mesh]\nenabled = true\nrealm = "lab"\n'
        'bootstrap = ["127.0.0.1:7000"]\npublish_threshold = 0.5\nadopt_rate = 2\n'
    )
    cfg, mesh = load_run_config(path)
    assert cfg.monitor.population_size == 7
    assert mesh.enabled and mesh.realm == "lab" and mesh.bootstrap == ("127.0.0.1:7000",)
    assert mesh.publish_threshold == 0.5 and mesh.adopt_rate == 2.0
    assert MeshSettings.from_table(mesh.to_dict()) == mesh


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[mesh]\nrelam = 'x'", "unknown key mesh.relam"),
        ("[mesh]\nenabled = 1", "mesh.enabled"),
        ("[mesh]\nadopt_rate = 0", "mesh.adopt_rate"),
        ("[mesh]\npublish_threshold = -1", "mesh.publish_threshold"),
        ("[mesh]\nbootstrap = ['nohost']", "mesh.bootstrap"),
        ("[mesh]\nrealm = ''", "mesh.realm"),
        ("[mesh]\npublish_on = 'sometimes'", "mesh.publish_on"),
        ("[mesh]\nadvertise_interval = -1.0", "mesh.advertise_interval"),
        ("mesh = 3", "mesh: expected a table"),
    ],
)
def test_bad_mesh_tables(text: str, needle: str) -> None:
    with pytest.raises(MeshConfigError) as info:
        loads_run_config(text)
    assert needle in str(info.value)


def test_other_tables_still_checked() -> None:
    with pytest.raises(ConfigError, match=r"monitor\.populaton_size"):
        loads_run_config("[monitor]\npopulaton_size = 3")


def test_settings_built_in_code_are_validated() -> None:
    with pytest.raises(MeshConfigError):
        MeshSettings(max_envelope_bytes=0)


def test_topic() -> None:
    assert topic_for("dpnv") == "tweann.genotypes.dpnv"
