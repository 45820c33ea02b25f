from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.evolution.config import (
    CONSTRAINT_KEYS,
    EvolutionConfig,
    MonitorConfig,
    config_from_mapping,
    field_docs,
    load_config,
    loads_config,
)
from actors.evolution.errors import ConfigError
from actors.evolution.fitness import NoveltyParams
from actors.evolution.selection import SelectionParams

FULL = """
[monitor]
population_size = 50
evolution_type = "steady_state"
selection_algorithm = "competition"
fitness_postprocessor = "novelty_proportional"
op_mode = "validation"
validation_interval = 200
workers = 2

[stopping]
fitness_goal = 0.99
max_evaluations = "none"
max_generations = 300

[selection]
survival_percentage = 0.4
shof_ratio = 0.8
efficiency = 0.5
hof_size_limit = 20
hof_distinguishers = ["size", "fingerprint"]
species_shares = "equal"
reevaluate_probability = 0

[novelty]
k = 5
threshold = 0.3
archive_limit = 50
weight = 1
adaptive = false

[tuning]
selection = "all_random"
duration = "const"
duration_parameter = 30
annealing = 1
perturbation_range = 2.5
min_improvement = 0.01
heredity = "lamarckian"
mutation_count = "ncount_linear"
mutation_count_parameter = 1

[constraint]
connection_architecture = "feedforward"
neural_afs = ["tanh", "gaussian"]
neural_pfns = ["none", "hebbian"]
neural_aggr_fs = ["dot_product"]
mutation_operators = { add_neuron = 4, add_inlink = 4, add_bias = 1, remove_bias = 0 }
tuning_selection_fs = ["dynamic_random", "current"]
tuning_duration_f = ["wsize_proportional", 0.5]
annealing_parameters = [0.5, 1]
perturbation_ranges = [1, 2.5]
heredity_types = ["darwinian", "lamarckian"]
tot_topological_mutations_fs = [["ncount_exponential", 0.5], ["ncount_linear", 1]]
"""


def test_full_file_loads(tmp_path: Path) -> None:
    p = tmp_path / "run.toml"
    p.write_text(FULL)
    c = load_config(p)
    assert c.monitor.population_size == 50 and c.monitor.workers == 2
    assert c.stopping.max_evaluations is None and c.stopping.fitness_goal == 0.99
    assert c.selection.hof_distinguishers == ("size", "fingerprint")
    assert isinstance(c.selection.params(), SelectionParams)
    assert c.selection.params().species_shares == "equal"
    assert c.novelty.params() == NoveltyParams(5, 0.3, 50, 1.0, False)
    assert c.tuning.annealing == 1.0 and isinstance(c.tuning.annealing, float)
    assert c.constraint["mutation_operators"]["add_neuron"] == 4.0
    assert c.constraint["tuning_duration_f"] == ("wsize_proportional", 0.5)
    assert c.constraint["tot_topological_mutations_fs"][1] == ("ncount_linear", 1.0)
    with pytest.raises(TypeError):
        c.constraint["neural_afs"] = ()  # type: ignore[index]
    assert set(c.constraint) == set(CONSTRAINT_KEYS)


def test_defaults_and_round_trip() -> None:
    c = EvolutionConfig()
    assert c.monitor.selection_algorithm == "hof_competition"
    assert c.monitor.fitness_postprocessor == "size_proportional"
    assert c.tuning.selection == "dynamic_random" and c.tuning.duration_parameter == 0.5
    assert config_from_mapping(c.to_dict()) == c
    full = loads_config(FULL)
    assert config_from_mapping(full.to_dict()) == full


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[monitor]\npopulaton_size = 3", "monitor.populaton_size"),
        ("[monitr]\npopulation_size = 3", "monitr"),
        ("[constraint]\nneural_afz = []", "constraint.neural_afz"),
        ("[tuning]\nannealing = 0.5\nspeed = 1", "tuning.speed"),
    ],
)
def test_unknown_keys_are_named(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"unknown key {named}")):
        loads_config(text)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[monitor]\npopulation_size = 0", "monitor.population_size"),
        ("[monitor]\npopulation_size = true", "monitor.population_size"),
        ("[monitor]\npopulation_size = 2.5", "monitor.population_size"),
        ("[monitor]\nselection_algorithm = 'best'", "monitor.selection_algorithm"),
        ("[monitor]\nevolution_type = 'chaos'", "monitor.evolution_type"),
        ("[monitor]\nop_mode = 'train'", "monitor.op_mode"),
        ("[stopping]\nmax_evaluations = -1", "stopping.max_evaluations"),
        ("[stopping]\nfitness_goal = 'high'", "stopping.fitness_goal"),
        ("[selection]\nshof_ratio = 1.5", "selection.shof_ratio"),
        ("[selection]\nhof_distinguishers = []", "selection.hof_distinguishers"),
        ("[selection]\nhof_distinguishers = ['colour']", "selection.hof_distinguishers"),
        ("[novelty]\nadaptive = 1", "novelty.adaptive"),
        ("[tuning]\nannealing = 0", "tuning.annealing"),
        ("[tuning]\nselection = 'newest'", "tuning.selection"),
        ("[tuning]\nheredity = 'lysenkoist'", "tuning.heredity"),
        ("[constraint]\nconnection_architecture = 'mesh'", "constraint.connection_architecture"),
        ("[constraint]\nannealing_parameters = [0.5, 2]", "constraint.annealing_parameters[1]"),
        ("[constraint]\nmutation_operators = { a = -1 }", "constraint.mutation_operators.a"),
        ("[constraint]\nmutation_operators = { a = 0 }", "constraint.mutation_operators"),
        ("[constraint]\ntuning_selection_fs = ['nope']", "constraint.tuning_selection_fs"),
        ("[constraint]\ntuning_duration_f = ['const']", "constraint.tuning_duration_f"),
        ("monitor = 3", "monitor"),
    ],
)
def test_bad_values_are_named(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        loads_config(text)


def test_known_names_restrict_constraint_names() -> None:
    known = {"neural_afs": ["tanh"], "mutation_operators": ["add_neuron"]}
    ok = loads_config("[constraint]\nneural_afs = ['tanh']", known_names=known)
    assert ok.constraint["neural_afs"] == ("tanh",)
    with pytest.raises(ConfigError, match=re.escape("constraint.neural_afs")):
        loads_config("[constraint]\nneural_afs = ['cos']", known_names=known)
    with pytest.raises(ConfigError, match=re.escape("constraint.mutation_operators.add_bias")):
        loads_config("[constraint]\nmutation_operators = {add_bias = 1}", known_names=known)


def test_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        loads_config("[monitor\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[monitor]\nworkers = 0\n")
    with pytest.raises(ConfigError, match=re.escape("bad.toml: monitor.workers")):
        load_config(bad)


def test_code_overrides_are_validated_too() -> None:
    c = EvolutionConfig()
    assert dataclasses.replace(c.monitor, population_size=7).population_size == 7
    with pytest.raises(ConfigError, match=re.escape("monitor.population_size")):
        dataclasses.replace(c.monitor, population_size=0)
    with pytest.raises(ConfigError, match=re.escape("monitor.fitness_postprocessor")):
        MonitorConfig(fitness_postprocessor="nope")


def test_field_docs_cover_every_key() -> None:
    docs = field_docs()
    assert set(docs) == {"monitor", "stopping", "selection", "novelty", "tuning"}
    assert all(doc for rows in docs.values() for _, _, doc in rows)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_any_unknown_monitor_key_is_rejected_by_name(key: str) -> None:
    known = {f.name for f in dataclasses.fields(MonitorConfig)}
    if key in known:
        return
    with pytest.raises(ConfigError, match=re.escape(f"monitor.{key}")):
        config_from_mapping({"monitor": {key: 1}})


def test_the_documented_example_loads() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "evolution.md").read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    c = loads_config(block)
    # the documented values are the defaults
    assert dataclasses.replace(c, constraint=EvolutionConfig().constraint) == EvolutionConfig()
    assert c.monitor == MonitorConfig() and c.constraint["neural_afs"] == (
        "tanh",
        "cos",
        "gaussian",
    )
    assert config_from_mapping(c.to_dict()) == c
