"""Search-parameter mutators (DXNN2 ``?ES_MUTATORS``).

Each switches one of the agent's evolved search parameters to another value its
constraint allows, or raises :class:`~actors.genotype.errors.MutationNotApplicable` when
the constraint offers no other value. DXNN2's ``mutate_tot_topological_mutations`` changed
the tuning selection function instead (a copy-paste slip); here each mutator changes its
own field. ``mutate_perturbation_range`` is new (the perturbation range is a search
parameter the agent carries, so it should evolve too).
"""

from __future__ import annotations

from typing import Any

from actors.genotype.edit import NetEdit
from actors.genotype.errors import MutationNotApplicable

__all__ = [
    "mutate_heredity_type",
    "mutate_perturbation_range",
    "mutate_tot_topological_mutations",
    "mutate_tuning_annealing",
    "mutate_tuning_selection",
]


def _switch(edit: NetEdit, op: str, field: str, allowed: tuple[Any, ...]) -> None:
    current = edit.agent_changes.get(field, getattr(edit.base, field))
    others = [v for v in allowed if v != current]
    if not others:
        raise MutationNotApplicable(f"{field}: the constraint offers no other value")
    edit.agent_changes[field] = others[edit.rng.randrange(len(others))]
    edit.record(op)


def mutate_tuning_selection(edit: NetEdit) -> None:
    _switch(edit, "mutate_tuning_selection", "tuning_selection_f",
            edit.base.constraint.tuning_selection_fs)  # fmt: skip


def mutate_tuning_annealing(edit: NetEdit) -> None:
    _switch(edit, "mutate_tuning_annealing", "annealing_parameter",
            edit.base.constraint.annealing_parameters)  # fmt: skip


def mutate_tot_topological_mutations(edit: NetEdit) -> None:
    _switch(edit, "mutate_tot_topological_mutations", "tot_topological_mutations_f",
            edit.base.constraint.tot_topological_mutations_fs)  # fmt: skip


def mutate_heredity_type(edit: NetEdit) -> None:
    _switch(edit, "mutate_heredity_type", "heredity_type", edit.base.constraint.heredity_types)


def mutate_perturbation_range(edit: NetEdit) -> None:
    _switch(edit, "mutate_perturbation_range", "perturbation_range",
            edit.base.constraint.perturbation_ranges)  # fmt: skip
