"""What things look like: the text a generated mesh is made from, and what an agent visibly carries.

One owner for these rules: the world keeps `entity_look` in step with its entities, the live and replay
frame sources publish it, and the viewer's asset generator reads it.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import Entity
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.items import ITEM_INDEX

# What a resource node of each item looks like; other items look like their name.
RESOURCE_LOOK = {"wood": "tree", "stone": "rock", "food": "bush"}
# Items an agent visibly carries after gathering them (indices into `tokenworld.scene.schema.ITEMS`).
CARRIED_ITEMS = np.array([ITEM_INDEX[i] for i in ("wood", "stone", "food")], np.int64)
_GATHER = ACTION_INDEX["gather"]


def entity_look(entity: Entity) -> str:
    """The text a scene entity's mesh is generated from.

    Its `properties["prompt"]` when that is a non-empty string; else, for a resource node, what its item grows
    on ("wood" -> "tree", "stone" -> "rock", "food" -> "bush", others the item's name); else its name if it has
    one; else its kind.
    """
    props = entity.properties
    prompt = props.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    resource = props.get("resource")
    if entity.kind == "resource" and isinstance(resource, str) and resource:
        return RESOURCE_LOOK.get(resource, resource)
    return entity.name.strip() or entity.kind


def entity_seed(entity: Entity) -> int:
    """The seed that varies a scene entity's generated mesh: its `properties["seed"]` (validated with the scene),
    else 0; built structures use 0."""
    seed = entity.properties.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32 else 0


def structure_look(recipe_name: str) -> str:
    """The text a built structure's mesh is generated from: its recipe's name ("hut", "storehouse", "well")."""
    return recipe_name


def structure_name(recipe_name: str, builder: int) -> str:
    """A built structure's display name: 'hut of agent 3'."""
    return f"{recipe_name} of agent {builder}"


def look_from_name(name: str) -> str:
    """A built structure's look from its display name (`structure_name`), for checkpoints written before looks."""
    return structure_look(name.partition(" of agent ")[0])


def carried_items(inventory: np.ndarray, carrying: np.ndarray) -> np.ndarray:
    """(n,) int8: the item (index into `ITEMS`) each agent visibly carries, -1 for nothing.

    `carrying` is what the agent last gathered, kept while it walks and put down by any other action (the
    world's `carrying`, kept by the rules); it shows while the agent still holds some of it and it is an item
    agents carry (`CARRIED_ITEMS`: wood, stone, food).
    """
    n = len(carrying)
    item = carrying[:n].astype(np.int64)
    carried = np.isin(item, CARRIED_ITEMS)
    holds = inventory[np.arange(n), np.where(carried, item, 0)] > 0 if n else np.zeros(0, bool)
    return np.where(carried & holds, item, -1).astype(np.int8)
