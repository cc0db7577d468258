"""The scene schema: typed, documented options, one dataclass per part.

Every field carries a docstring (``doc``) and, where it has them, a unit, the
choices it allows and the range of its numbers (`Range`); the loader uses the
types and choices, the validator the ranges, and `tokenworld.scene.docs` renders this
module into docs/scene-format.md, so the schema and its documentation cannot
drift. Coordinates are metres in the ground plane: x east, y north, with the
world spanning ``[0, size[0]) x [0, size[1])``; height (z) comes from the terrain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tokenworld.scene.options import NON_NEGATIVE, POSITIVE, UNIT_INTERVAL, opt

ITEMS = ("food", "water", "wood", "stone", "tools")
MINDS = ("rules", "random", "model")
GAMES = ("none", "guess_average")
ARCHETYPES = ("citizen", "farmer", "merchant", "craftsperson", "leader", "explorer")
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
ENTITY_KINDS = ("resource", "building", "item", "asset", "obstacle")
TERRAIN_KINDS = ("flat", "hills")
BACKENDS = ("rules", "llama_cpp", "openai", "vllm", "ray")
DECISION_MODES = ("score", "generate")
STRUCTURED_MODES = ("auto", "gbnf", "json", "none")
CLOCKS = ("lockstep", "realtime")


MAX_BATCH = 128  # requests a backend takes at once (llama.cpp sequences of one context)
RAY_MAX_BATCH = 4096  # the ray backend's batches, split over its actors (each takes at most MAX_BATCH)


@dataclass
class Terrain:
    """The ground's shape. Heights never block movement; they place things in 3D."""

    kind: str = opt("flat", doc="Terrain shape.", choices=TERRAIN_KINDS)
    height: float = opt(0.0, doc="Peak height of the hills above the base level.", unit="m", **NON_NEGATIVE)
    scale: float = opt(60.0, doc="Typical distance between hill tops.", unit="m", **POSITIVE)
    seed: int = opt(0, doc="Seed of the terrain shape (independent of the sim seed).")


@dataclass
class WorldOptions:
    """The extent of the world."""

    size: tuple[float, float] = opt((200.0, 200.0), doc="Width (x) and depth (y) of the world.", unit="m", **POSITIVE)
    terrain: Terrain = opt(doc="The ground's shape.", factory=Terrain)


@dataclass
class SimOptions:
    """How the simulation advances."""

    dt: float = opt(0.1, doc="Simulated time per tick.", unit="s", **POSITIVE)
    ticks: int = opt(1000, doc="Ticks a run lasts when the command line does not say.", **NON_NEGATIVE)
    seed: Optional[int] = opt(
        None,
        doc="Random seed. Without one a run picks a seed, records it, and warns that it will not reproduce.",
        min=0,
        max=2**32,
        max_exclusive=True,
    )
    clock: str = opt(
        "lockstep",
        doc="`lockstep`: a tick waits for the model decisions it asked for (same seed, same run, batched or not); "
        "`realtime`: ticks never wait, decisions land at the first tick boundary after they arrive.",
        choices=CLOCKS,
    )
    max_decisions_per_tick: int = opt(
        64,
        doc="Most language-model requests (decisions and reflections) asked in one tick; due agents beyond it follow "
        "their plan or the rules brain.",
        **NON_NEGATIVE,
    )
    metrics_every: int = opt(1, doc="Write per-tick metrics every this many ticks.", **POSITIVE)


@dataclass
class EngineOptions:
    """The spatial engine: perception and steering."""

    perception_radius: float = opt(6.0, doc="Agents see other agents within this distance.", unit="m", **POSITIVE)
    neighbours: int = opt(
        8, doc="K: the nearest agents within the radius that each agent perceives (exact).", min=1, max=32
    )
    entity_reach: float = opt(
        2.5, doc="Agents perceive entities whose edge is within this distance.", unit="m", **POSITIVE
    )
    entities_seen: int = opt(
        4, doc="How many of the nearest entities within reach each agent perceives.", min=1, max=16
    )
    arrive_radius: float = opt(
        0.5, doc="An agent within this distance of its target has arrived.", unit="m", **POSITIVE
    )
    slow_radius: float = opt(3.0, doc="Agents slow down inside this distance of their target.", unit="m", **POSITIVE)
    max_force: float = opt(4.0, doc="Largest steering acceleration.", unit="m/s^2", **POSITIVE)
    boundary_margin: float = opt(
        4.0, doc="Agents closer than this to the world's edge are pushed back in.", unit="m", **NON_NEGATIVE
    )
    resort_every: int = opt(
        16,
        doc="Ticks between re-sorting the engine's agent rows by grid cell (memory locality; 0 never).",
        **NON_NEGATIVE,
    )


STEERING_LAYERS = (3, 4, 5, 6, 7, 8)  # where the packaged model's trait vectors move behaviour (docs/steering.md)


@dataclass
class SteeringOptions:
    """`[mind.steering]`: trait steering (llama_cpp): each model agent's Big Five traits become a control vector
    added to the model's hidden states (docs/steering.md)."""

    vectors: str = opt(
        "",
        doc='Trait vectors: "" (no steering), "packaged" (made for the packaged Gemma 3 270M), or a folder of '
        "`<trait>.gguf` control vectors made by `tokenworld steer build` or `steer learn`.",
    )
    strength: float = opt(
        2.0,
        doc="Multiplies every agent's control vector (2 suits the packaged vectors: BENCHMARKS.md).",
        **NON_NEGATIVE,
    )
    layers: list[int] = opt(
        doc="Layers the vectors are added at (1 to the model's layers - 1).", factory=lambda: list(STEERING_LAYERS)
    )
    levels: int = opt(
        5, doc="Steps each trait is rounded to when agents are grouped by profile (a group per profile).", min=2, max=11
    )


@dataclass
class MindOptions:
    """Who decides for the agents and how often."""

    backend: str = opt(
        "rules",
        doc='Who decides for groups with `mind = "model"`: `rules` (the rules brain), `llama_cpp` (embedded model), '
        "`openai` (an OpenAI-compatible server), `vllm` (in-process, extra `vllm`), `ray` (a pool of Ray actors, each "
        "running `ray_backend`; extra `cluster`).",
        choices=BACKENDS,
    )
    model: str = opt(
        "gemma3-270m",
        doc="`gemma3-270m` (the packaged Gemma 3 270M), a path to a .gguf file (llama_cpp), or the served model name "
        "(openai, vllm).",
    )
    endpoint: str = opt(
        "",
        doc="Base URL(s) of OpenAI-compatible servers (backend `openai`), comma-separated for load balancing, e.g. "
        "`http://127.0.0.1:8080/v1`.",
    )
    api_key_env: str = opt(
        "OPENAI_API_KEY",
        doc="Environment variable holding the API key for `endpoint` (the key itself never goes in a scene).",
    )
    mode: str = opt(
        "score",
        doc="llama_cpp: `score` ranks the agent's options by likelihood in one pass; `generate` writes the option "
        "under a grammar.",
        choices=DECISION_MODES,
    )
    prior_weight: float = opt(
        2.0,
        doc="llama_cpp `score` mode: the choice maximises the option's calibrated log-likelihood plus this times the "
        "rules brain's utility for it (as it is, not rescaled: urgent needs weigh more), so the rules brain's "
        "sense of needs steers a small model; 0 is the model alone. The default 2 was chosen on `tokenworld bench "
        "inference`'s hand-labelled situations (BENCHMARKS.md, section Right choices). Not applied in `generate` "
        "mode nor by the `openai` and `vllm` backends (they write an option; there are no per-option likelihoods "
        "to add it to); the `rules` backend is the prior alone.",
        min=0,
        max=100,
    )
    structured: str = opt(
        "auto",
        doc="openai: structured outputs as `gbnf` (llama.cpp servers), `json` (vLLM), `none`, or `auto` (ask the "
        "server).",
        choices=STRUCTURED_MODES,
    )
    llm_fraction: float = opt(
        1.0,
        doc='Share of the agents of `mind = "model"` groups that the model drives (the rest use the rules brain).',
        **UNIT_INTERVAL,
    )
    decide_every: int = opt(50, doc="Ticks between an idle agent's decisions.", **POSITIVE)
    reflect_every: int = opt(
        500,
        doc="Ticks between a model-driven agent's reflections (it condenses its memories into a plan it follows "
        "meanwhile; 0 never).",
        **NON_NEGATIVE,
    )
    memory_size: int = opt(
        32, doc="Memories kept per model-driven agent (the least important and oldest are forgotten first).", **POSITIVE
    )
    recall: int = opt(
        2,
        doc="Memories retrieved into a prompt (by recency, importance and relevance) besides the 2 most recent.",
        **NON_NEGATIVE,
    )
    max_prompt_tokens: int = opt(
        1024,
        doc="Token budget of one prompt (shared part and personal part); memories are dropped first when over it.",
        min=128,
        max=8192,
    )
    agent_cache_mb: float = opt(
        256.0,
        doc="llama_cpp: host memory for each model agent's own KV cache between its decisions (the least recently "
        "used agents are dropped, and rebuilt when they next decide); 0 evaluates every prompt in full.",
        unit="MB",
        **NON_NEGATIVE,
    )
    max_output_tokens: int = opt(24, doc="Most tokens a model may write for one decision.", **POSITIVE)
    temperature: float = opt(0.0, doc="Sampling temperature; 0 is greedy and reproducible.", **NON_NEGATIVE)
    batch_size: int = opt(
        16,
        doc="Most requests the inference worker sends to the backend at once (at most 128; the ray backend, which "
        "splits a batch over its actors, takes up to 4096).",
        min=1,
        max=RAY_MAX_BATCH,
    )
    batch_wait_ms: float = opt(
        20.0, doc="How long the worker waits to fill a batch (realtime mode).", unit="ms", **NON_NEGATIVE
    )
    max_wait_s: float = opt(
        2.0,
        doc="Realtime: how long an agent's decision may be awaited before it acts without it (its plan, or the rules "
        "brain). The scheduler keeps the requests in flight to what the backend answers within this, measured as "
        "it runs. Not `batch_wait_ms` (how long the worker gathers a batch) nor `timeout_s` (when a server "
        "request counts as failed).",
        unit="s",
        **POSITIVE,
    )
    timeout_s: float = opt(
        30.0,
        doc="openai: seconds before a request counts as failed (the agent then uses the rules brain).",
        unit="s",
        **POSITIVE,
    )
    max_concurrency: int = opt(8, doc="openai: requests in flight at once.", **POSITIVE)
    n_gpu_layers: int = opt(
        -1, doc="llama_cpp: layers offloaded to a GPU when the build supports one (-1 all, 0 none)."
    )
    threads: int = opt(
        0,
        doc="llama_cpp: CPU threads the model computes with (0: all cores headless; in the viewer all but one, which "
        "is left for drawing).",
        **NON_NEGATIVE,
    )
    cache_size: int = opt(
        4096, doc="Answers kept in the response cache (keyed by prompt and sampling settings; 0 off).", **NON_NEGATIVE
    )
    ray_backend: str = opt(
        "llama_cpp",
        doc="ray: the backend each actor runs (`llama_cpp`, `openai`, `vllm`, `rules`), built from these options.",
        choices=BACKENDS,
    )
    ray_actors: int = opt(2, doc="ray: actors answering batches (each with its own backend).", **POSITIVE)
    ray_address: str = opt(
        "", doc="ray: the cluster to join (`ray start --head` prints it); empty: a local Ray with this machine's cores."
    )
    ray_cpus: float = opt(
        1.0, doc="ray: CPUs each actor reserves (its llama.cpp threads when `threads` is 0).", **POSITIVE
    )
    ray_gpus: float = opt(
        0.0, doc="ray: GPUs each actor reserves (vLLM, or llama.cpp with `n_gpu_layers`).", **NON_NEGATIVE
    )
    steering: SteeringOptions = opt(doc="Trait steering vectors (llama_cpp only).", factory=SteeringOptions)


@dataclass
class EconomyOptions:
    """Needs, gathering, regeneration and prices."""

    hunger_rate: float = opt(
        1 / 600, doc="Hunger gained per second (0 is sated, 1 starving).", unit="1/s", **NON_NEGATIVE
    )
    energy_rate: float = opt(
        1 / 900, doc="Energy lost per second standing (1 is rested, 0 exhausted).", unit="1/s", **NON_NEGATIVE
    )
    walk_energy_factor: float = opt(2.0, doc="Walking multiplies the energy loss by this.", **NON_NEGATIVE)
    eat_relief: float = opt(0.4, doc="Hunger removed by eating one food.", **NON_NEGATIVE)
    rest_gain: float = opt(0.5, doc="Energy restored by one rest.", **NON_NEGATIVE)
    gather_amount: float = opt(1.0, doc="Items one gather yields (twice as much with tools).", **NON_NEGATIVE)
    regen_every: int = opt(10, doc="Ticks between regrowth of resource nodes and zone pools.", **POSITIVE)
    price_memory: float = opt(0.1, doc="Weight of the newest trade in the market price (0-1).", **UNIT_INTERVAL)


@dataclass
class StoreOptions:
    """What the run store keeps."""

    checkpoint_every: int = opt(
        100, doc="Ticks between full checkpoints a run can resume from (0 never).", **NON_NEGATIVE
    )
    snapshot_every: int = opt(
        50, doc="Ticks between snapshots of every agent (position, needs, inventory; 0 never).", **NON_NEGATIVE
    )
    track_every: int = opt(
        1,
        doc="Ticks between compact position frames for replay in the viewer (every agent's x, y and heading, about 5 "
        "bytes per agent; 0 never).",
        **NON_NEGATIVE,
    )


@dataclass
class GameOptions:
    """An optional game played by the agents (`kind = "guess_average"`)."""

    kind: str = opt("none", doc="Which game.", choices=GAMES)
    rounds: int = opt(10, doc="Rounds to play.", **POSITIVE)
    max_value: float = opt(100.0, doc="Guesses lie in [0, max_value].", **POSITIVE)
    factor: float = opt(2 / 3, doc="The target is this times the average guess (1 for the plain average).", **POSITIVE)
    ticks_per_round: int = opt(10, doc="Ticks between rounds.", **POSITIVE)


@dataclass
class PropOptions:
    """Generated props scattered in zones: drawn by the viewer only; the simulation ignores them."""

    enabled: bool = opt(
        True, doc="Draw generated props scattered in zones (the viewer only; the simulation ignores them)."
    )
    density: float = opt(1.0, doc="Multiplies every zone's prop density.", **NON_NEGATIVE)
    max_per_zone: int = opt(1500, doc="Most props scattered in one zone.", **POSITIVE)


@dataclass
class Zone:
    """A named region, given as a rectangle or a polygon (exactly one of them)."""

    name: str = opt(doc="Unique name agents and files refer to.")
    kind: str = opt("area", doc="What the zone is for (home, farm, forest, market, ...).")
    rect: Optional[tuple[float, float, float, float]] = opt(
        None, doc="`[x0, y0, x1, y1]`, the lower corner inclusive, the upper exclusive.", unit="m"
    )
    polygon: Optional[list[tuple[float, float]]] = opt(
        None, doc="Vertices `[[x, y], ...]` (3 or more) of a simple polygon.", unit="m"
    )
    color: Optional[tuple[float, float, float]] = opt(None, doc="Display colour, RGB in [0, 1].", **UNIT_INTERVAL)
    resources: dict[str, float] = opt(
        doc="Resource pools the zone holds (food, wood, ...).", factory=dict, **NON_NEGATIVE
    )
    properties: dict[str, object] = opt(
        doc="Free-form data (numbers, strings, booleans) for later rules.", factory=dict
    )
    props: Optional[float] = opt(
        None,
        doc="Scattered props (trees in a forest, crop rows on a farm, rocks at a quarry, stalls at a market, benches "
        "on a commons) per 100 m² of the zone; 0: none; unset: the default density of the zone's kind "
        "(`tokenworld.scene.props.PROP_DENSITY`).",
        unit="1/100 m^2",
        **NON_NEGATIVE,
    )


@dataclass
class Entity:
    """A thing in the world: a resource node, a building, an item, an asset."""

    kind: str = opt(doc="What it is.", choices=ENTITY_KINDS)
    name: str = opt("", doc="Display name; need not be unique.")
    pos: tuple[float, float] = opt(doc="Position in the ground plane.", unit="m")
    radius: float = opt(1.0, doc="Footprint radius.", unit="m", **POSITIVE)
    solid: bool = opt(False, doc="Agents steer around solid entities.")
    properties: dict[str, object] = opt(doc="Free-form data (resource, stock, regen, recipe, ...).", factory=dict)


@dataclass
class TraitDistribution:
    """A trait drawn per agent from a normal distribution, clipped to [0, 1]."""

    mean: float = opt(0.5, doc="Mean of the trait in [0, 1].", **UNIT_INTERVAL)
    std: float = opt(0.15, doc="Standard deviation (0 gives every agent the mean).", **NON_NEGATIVE)


@dataclass
class Flocking:
    """Reynolds flocking weights for a group."""

    cohesion: float = opt(0.0, doc="Pull towards the neighbours' centre.", **NON_NEGATIVE)
    alignment: float = opt(0.0, doc="Pull towards the neighbours' mean velocity.", **NON_NEGATIVE)
    separation: float = opt(1.5, doc="Push away from neighbours closer than `personal_space`.", **NON_NEGATIVE)
    personal_space: float = opt(1.2, doc="Distance under which separation acts.", unit="m", **POSITIVE)
    wander: float = opt(0.5, doc="Random steering of agents without a target.", unit="m/s^2", **NON_NEGATIVE)


@dataclass
class AgentGroup:
    """A population of agents sharing an archetype, a spawn place and trait distributions."""

    name: str = opt(doc="Unique group name.")
    count: int = opt(doc="Number of agents.", **NON_NEGATIVE)
    archetype: str = opt("citizen", doc="Role that shapes behaviour.", choices=ARCHETYPES)
    spawn_zone: Optional[str] = opt(None, doc="Name of the zone agents start in (or give `spawn_area`).")
    spawn_area: Optional[tuple[float, float, float, float]] = opt(
        None, doc="`[x0, y0, x1, y1]` agents start in (or give `spawn_zone`).", unit="m"
    )
    speed: tuple[float, float] = opt(
        (1.0, 1.6), doc="Walking speed range; each agent draws uniformly from it.", unit="m/s"
    )
    traits: dict[str, TraitDistribution] = opt(
        doc="Big Five traits: openness, conscientiousness, extraversion, agreeableness, neuroticism; missing ones use "
        "the default distribution.",
        factory=dict,
    )
    flocking: Flocking = opt(doc="Flocking weights.", factory=Flocking)
    mind: str = opt(
        "rules",
        doc="Who decides: the rules brain, random choices, or the language model (`model`: the backend of `[mind]`).",
        choices=MINDS,
    )
    adapter: str = opt(
        "",
        doc="A LoRA adapter for this group's model agents (docs/steering.md): a llama.cpp adapter GGUF with "
        "llama_cpp, or the name an OpenAI-compatible server serves the adapter under.",
    )
    inventory: dict[str, float] = opt(
        doc="Items each agent starts with (food, water, wood, stone, tools).", factory=dict, **NON_NEGATIVE
    )


@dataclass
class Tell:
    """A line the Narrator says at a tick: news told to one agent, or announced to everyone in a zone."""

    text: str = opt(doc="What is said (one line).")
    tick: int = opt(1, doc="Tick at which it is heard.", min=1)
    agent: Optional[int] = opt(None, doc="Id of the agent told (or give `zone`).")
    zone: Optional[str] = opt(None, doc="Name of the zone where everyone hears it (or give `agent`).")


@dataclass
class Scene:
    """A whole scene: options plus zones, entities and agent groups.

    Load one with `Scene.load(path)`; `Scene.save(path)` writes it back as a
    self-contained file (with any `extends` already resolved). `source` names
    the file it came from.
    """

    source = "<scene>"  # class attribute, not a field: it is not saved

    name: str = opt(doc="Scene name; run folders are named after it.")
    description: str = opt("", doc="One or two sentences for people choosing a scene.")
    extends: Optional[str] = opt(
        None,
        doc="Another scene file whose values this file overrides: a file in this one's folder or below it (a "
        "relative path), or a shipped scene by file name. Tables merge key by key; lists (zones, entities, groups) "
        "replace the inherited list.",
    )
    world: WorldOptions = opt(doc="World extent and terrain.", factory=WorldOptions)
    sim: SimOptions = opt(doc="Simulation clock and seed.", factory=SimOptions)
    engine: EngineOptions = opt(doc="Spatial engine settings.", factory=EngineOptions)
    mind: MindOptions = opt(doc="Decision settings.", factory=MindOptions)
    economy: EconomyOptions = opt(doc="Needs, gathering and prices.", factory=EconomyOptions)
    store: StoreOptions = opt(doc="Checkpoints, snapshots and position tracks in the run store.", factory=StoreOptions)
    game: GameOptions = opt(doc="An optional game (guess the average).", factory=GameOptions)
    props: PropOptions = opt(doc="Generated props scattered in zones (the viewer only).", factory=PropOptions)
    zones: list[Zone] = opt(doc="Named regions (`[[zones]]`).", factory=list)
    entities: list[Entity] = opt(doc="Things in the world (`[[entities]]`).", factory=list)
    groups: list[AgentGroup] = opt(doc="Agent populations (`[[groups]]`).", factory=list)
    tell: list[Tell] = opt(
        doc="The Narrator's scripted lines (`[[tell]]`), as a viewer user says or announces them: model-driven agents "
        "remember them, retell them and act on them.",
        factory=list,
    )

    @classmethod
    def load(cls, path) -> "Scene":
        """Read, resolve `extends`, and validate a scene file; raises `SceneError`."""
        from tokenworld.scene.load import load_scene

        return load_scene(path)

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<scene>", reuse: dict | None = None) -> "Scene":
        """Build and validate a scene from TOML-like data; raises `SceneError` (`reuse`: see `scene_from_dict`)."""
        from tokenworld.scene.load import scene_from_dict

        return scene_from_dict(data, source=source, reuse=reuse)

    def to_dict(self) -> dict:
        """The scene as TOML-ready data (no `extends`, no unset options)."""
        from tokenworld.scene.load import scene_to_dict

        return scene_to_dict(self)

    def save(self, path) -> None:
        """Write the scene as a self-contained TOML file."""
        from tokenworld.scene.load import save_scene

        save_scene(self, path)

    @property
    def agent_count(self) -> int:
        """Total agents over all groups."""
        return sum(g.count for g in self.groups)

    @property
    def uses_model(self) -> bool:
        """Whether a language model decides for some agents: a model backend and at least one `mind = "model"` group."""
        return self.mind.backend != "rules" and any(g.mind == "model" for g in self.groups)

    def zone_index(self, name: str) -> int:
        """Row of the zone called `name`; raises KeyError if there is none."""
        for i, z in enumerate(self.zones):
            if z.name == name:
                return i
        raise KeyError(name)
