"""What things look like: entity looks (scene entities, prompts, built structures), stocks and carried items."""

from __future__ import annotations

import numpy as np

from tests.world.world_lab import (
    IN_FIELD_POS,
    IN_TOWN_POS,
    OPEN,
    TREE,
    TREE_POS,
    lab_world,
    near,
    one,
)
from tokenworld.scene.schema import Entity
from tokenworld.world.items import BUILD_INDEX, ITEM_INDEX
from tokenworld.world.looks import carried_items, entity_look

WOOD, STONE, FOOD = (ITEM_INDEX[i] for i in ("wood", "stone", "food"))


def _carry(w) -> np.ndarray:
    return carried_items(w.economy.inventory, w.carrying)


def test_entity_look_of_scene_entities():
    """A prompt wins; a resource node looks like what its item grows on; else the name; else the kind."""
    node = {"kind": "resource", "pos": (1.0, 1.0)}
    assert entity_look(Entity(**node, name="oak", properties={"resource": "wood"})) == "tree"
    assert entity_look(Entity(**node, properties={"resource": "stone"})) == "rock"
    assert entity_look(Entity(**node, properties={"resource": "food"})) == "bush"
    assert entity_look(Entity(**node, properties={"resource": "water"})) == "water"
    prompt = {"resource": "wood", "prompt": "a gnarled old oak"}
    assert entity_look(Entity(**node, properties=prompt)) == "a gnarled old oak"
    assert entity_look(Entity(**node, properties={"resource": "wood", "prompt": "  "})) == "tree"  # empty: ignored
    assert entity_look(Entity("building", "town hall", (1.0, 1.0))) == "town hall"
    assert entity_look(Entity("obstacle", "", (1.0, 1.0), properties={"prompt": 3})) == "obstacle"  # not a string


def test_world_looks_follow_scene_and_built_structures():
    """The world's looks start from its scene and gain the recipe's name for each structure built."""
    w = lab_world([IN_TOWN_POS, IN_TOWN_POS])
    try:
        assert w.entity_look == ["tree", "rock", "bush"]
        w.economy.inventory[0, [WOOD, STONE]] = 10.0
        w.economy.inventory[1, STONE] = 10.0
        assert one(w, agent=0, action="build", item=BUILD_INDEX["hut"])[0] == "ok"
        assert one(w, agent=1, action="build", item=BUILD_INDEX["well"])[0] == "ok"
        assert w.entity_look[3:] == ["hut", "well"] and w.entity_name[3:] == ["hut of agent 0", "well of agent 1"]
        assert len(w.entity_look) == len(w.entity_kind) == len(w.entity_pos)
    finally:
        w.close()


def test_checkpoint_without_looks_restores_them_from_names():
    """A checkpoint written before looks (no `entity_look`, no `carrying`) still restores, looks derived."""
    w = lab_world([IN_TOWN_POS])
    try:
        w.economy.inventory[0, STONE] = 10.0
        one(w, agent=0, action="build", item=BUILD_INDEX["well"])
        state = {k: v for k, v in w.state().items() if k not in ("entity_look", "carrying")}
        w.entity_look, w.carrying[:] = ["?"] * 4, 7
        w.restore(state)
        assert w.entity_look == ["tree", "rock", "bush", "well"] and (w.carrying == -1).all()
    finally:
        w.close()


def test_stocks_fall_after_gathering():
    """Gathering from a node lowers its entity stock; gathering from a zone's pool lowers the zone's stock."""
    w = lab_world([near(TREE_POS, 1.5), IN_FIELD_POS])
    try:
        m = len(w.entity_pos)
        assert (w.economy.entity_stock(m) == 1.0).all() and (w.economy.zone_stock() == 1.0).all()
        assert one(w, agent=0, action="gather", item=WOOD)[0] == "ok"
        assert one(w, agent=1, action="gather", item=FOOD)[0] == "ok"
        stock, zones = w.economy.entity_stock(m), w.economy.zone_stock()
        assert stock.dtype == np.float32 and stock[TREE] == np.float32(4 / 5) and (stock[TREE + 1 :] == 1).all()
        assert zones.dtype == np.float32 and zones[0] == np.float32(2 / 3) and zones[1] == 1.0  # town: no pool
    finally:
        w.close()


def test_carry_shows_the_gathered_item_while_held():
    """A successful gather shows its item carried, still while walking; a refused one, another action or an empty
    hand shows -1."""
    w = lab_world([near(TREE_POS, 1.5), OPEN, IN_FIELD_POS])
    try:
        w.economy.inventory[2, FOOD] = 5.0  # holds food, gathers it: carries food
        assert (_carry(w) == -1).all()
        assert one(w, agent=0, action="gather", item=WOOD)[0] == "ok"
        assert one(w, agent=1, action="gather", item=WOOD)[0] != "ok"  # nothing within reach
        assert one(w, agent=2, action="gather", item=FOOD)[0] == "ok"
        carry = _carry(w)
        assert carry.dtype == np.int8 and carry.tolist() == [WOOD, -1, FOOD]
        assert one(w, tick=30, agent=0, action="move_to", kind="zone", target=0)[0] == "ok"  # walks off with it
        assert _carry(w).tolist() == [WOOD, -1, FOOD]
        w.economy.inventory[0, WOOD] = 0.0  # gave it all away: empty-handed
        assert one(w, tick=30, agent=2, action="eat")[0] == "ok"  # another action: carries nothing
        assert _carry(w).tolist() == [-1, -1, -1]
    finally:
        w.close()
