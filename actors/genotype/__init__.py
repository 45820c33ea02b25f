"""DXNN-style genotypes: records, construction, mutation, canonical codec, exports, store.

Pure code: nothing here reads the clock or the global RNG; every random choice comes from
a :class:`random.Random` the caller passes in, so the same seed gives byte-identical
genotypes. See ``docs/genotype.md``.
"""

from actors.genotype.codec import (
    SCHEMA,
    SCHEMA_VERSION,
    CodecLimits,
    decode_agent,
    decode_record,
    encode_agent,
    encode_record,
    fingerprint_digest,
    from_document,
    register_migration,
    to_document,
)
from actors.genotype.constraint import (
    MUTATION_OPERATOR_NAMES,
    SEARCH_PARAMETER_MUTATORS,
    ActuatorSpec,
    Constraint,
    MorphologySpec,
    SensorSpec,
)
from actors.genotype.construct import clone_agent, construct_agent
from actors.genotype.errors import (
    ConstraintError,
    GenotypeDecodeError,
    GenotypeError,
    InvalidGenotypeError,
    MutationNotApplicable,
    StoreError,
)
from actors.genotype.export import agent_from_json, agent_to_dot, agent_to_json
from actors.genotype.functions import (
    ACTIVATION_FUNCTIONS,
    AGGREGATION_FUNCTIONS,
    PLASTICITY_RULES,
    PlasticityRule,
)
from actors.genotype.graph import (
    NetworkView,
    ViewInput,
    ViewNeuron,
    compute_fingerprint,
    network_view,
    validate_agent,
)
from actors.genotype.ids import IdFactory
from actors.genotype.mutate import (
    OPERATORS,
    SEARCH_OPERATORS,
    apply_operator,
    mutate,
    mutation_count,
    offspring,
)
from actors.genotype.records import (
    Actuator,
    Agent,
    Cortex,
    EvoEvent,
    EvoRef,
    Fingerprint,
    InputLink,
    Neuron,
    Population,
    Sensor,
    Specie,
    Stat,
    TopologySummary,
    Trace,
    Weight,
)
from actors.genotype.store import Checkpoint, GenotypeStore

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "AGGREGATION_FUNCTIONS",
    "MUTATION_OPERATOR_NAMES",
    "OPERATORS",
    "PLASTICITY_RULES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SEARCH_OPERATORS",
    "SEARCH_PARAMETER_MUTATORS",
    "Actuator",
    "ActuatorSpec",
    "Agent",
    "Checkpoint",
    "CodecLimits",
    "Constraint",
    "ConstraintError",
    "Cortex",
    "EvoEvent",
    "EvoRef",
    "Fingerprint",
    "GenotypeDecodeError",
    "GenotypeError",
    "GenotypeStore",
    "IdFactory",
    "InputLink",
    "InvalidGenotypeError",
    "MorphologySpec",
    "MutationNotApplicable",
    "NetworkView",
    "Neuron",
    "PlasticityRule",
    "Population",
    "Sensor",
    "SensorSpec",
    "Specie",
    "Stat",
    "StoreError",
    "TopologySummary",
    "Trace",
    "ViewInput",
    "ViewNeuron",
    "Weight",
    "agent_from_json",
    "agent_to_dot",
    "agent_to_json",
    "apply_operator",
    "clone_agent",
    "compute_fingerprint",
    "construct_agent",
    "decode_agent",
    "decode_record",
    "encode_agent",
    "encode_record",
    "fingerprint_digest",
    "from_document",
    "mutate",
    "mutation_count",
    "network_view",
    "offspring",
    "register_migration",
    "to_document",
    "validate_agent",
]
