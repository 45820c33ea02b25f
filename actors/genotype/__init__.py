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

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "AGGREGATION_FUNCTIONS",
    "MUTATION_OPERATOR_NAMES",
    "PLASTICITY_RULES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SEARCH_PARAMETER_MUTATORS",
    "Actuator",
    "ActuatorSpec",
    "Agent",
    "CodecLimits",
    "Constraint",
    "ConstraintError",
    "Cortex",
    "EvoEvent",
    "EvoRef",
    "Fingerprint",
    "GenotypeDecodeError",
    "GenotypeError",
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
    "clone_agent",
    "compute_fingerprint",
    "construct_agent",
    "decode_agent",
    "decode_record",
    "encode_agent",
    "encode_record",
    "fingerprint_digest",
    "from_document",
    "network_view",
    "register_migration",
    "to_document",
    "validate_agent",
]
