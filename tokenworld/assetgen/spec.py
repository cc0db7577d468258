"""What a description asks for: a category and a few attributes, read from words.

`parse("a small wooden footbridge with rails")` gives an `AssetSpec` (category
'bridge', material 'wood', size 'small', parts {'rails'}). Text may come from a
user, a scene file or a model: it is cleaned and bounded first (`clean_text`),
and words the parser does not know are ignored; a text with no known category
word gets `DEFAULT_CATEGORY`, so any text gives a mesh.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from tokenworld.scene.validate import MAX_PROMPT

MAX_TEXT = MAX_PROMPT  # characters of a description that are read (the rest is ignored)

# Category -> the words that name it (the first word is the category's own name). Order matters where words
# overlap: earlier categories win ("market stall" is a stall, "tree stump" a stump, "stone well" a well).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "person": ("person", "villager", "man", "woman", "child", "farmer", "trader", "merchant", "people", "human"),
    "stump": ("stump", "felled"),
    "well": ("well",),
    "stall": ("stall", "booth", "kiosk", "awning"),
    "bridge": ("bridge", "footbridge"),
    "tower": ("tower", "lighthouse", "watchtower", "turret", "belfry"),
    "hall": ("hall", "townhall", "temple", "church", "chapel"),
    "storehouse": ("storehouse", "barn", "warehouse", "granary", "shed", "store"),
    "hut": ("hut", "cabin", "shack", "shelter", "tent", "dwelling"),
    "house": ("house", "home", "cottage", "building", "inn", "tavern", "shop"),
    "fence": ("fence", "railing", "palisade", "wall"),
    "cart": ("cart", "wagon", "wheelbarrow", "carriage"),
    "bench": ("bench", "seat", "chair", "table"),
    "crate": ("crate", "box", "chest", "barrel"),
    "crops": ("crops", "crop", "wheat", "corn", "field", "vegetables", "cabbages", "plants"),
    "tree": ("tree", "oak", "pine", "fir", "spruce", "birch", "palm", "trees", "forest"),
    "bush": ("bush", "shrub", "hedge", "bushes", "berries"),
    "rock": ("rock", "boulder", "stone", "rocks", "stones", "pebble"),
    "log": ("log", "logs", "firewood", "timber", "lumber"),
    "basket": ("basket", "bag", "sack", "food"),
    "pot": ("pot", "jar", "vase", "urn", "jug", "bucket", "bowl"),
    "tool": ("tool", "tools", "hammer", "axe", "pickaxe", "shovel", "hoe", "saw"),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_WORDS)
DEFAULT_CATEGORY = "crate"  # what a text naming nothing we know becomes: a plain, neutral object

MATERIAL_WORDS: dict[str, tuple[str, ...]] = {
    "wood": ("wood", "wooden", "timber", "log", "plank", "planks"),
    "stone": ("stone", "rock", "granite", "marble", "cobble", "cobblestone"),
    "brick": ("brick", "bricks", "clay", "adobe", "terracotta"),
    "metal": ("metal", "iron", "steel", "copper", "bronze", "tin"),
    "thatch": ("thatch", "thatched", "straw", "reed"),
}
MATERIALS: tuple[str, ...] = tuple(MATERIAL_WORDS)

# Base colours (linear-ish RGB in [0, 1]) of materials and colour words.
MATERIAL_RGB = {
    "wood": (0.55, 0.38, 0.22),
    "stone": (0.58, 0.57, 0.55),
    "brick": (0.66, 0.32, 0.24),
    "metal": (0.52, 0.55, 0.6),
    "thatch": (0.78, 0.66, 0.36),
}
COLOR_RGB = {
    "red": (0.75, 0.18, 0.15),
    "green": (0.25, 0.55, 0.22),
    "blue": (0.2, 0.35, 0.75),
    "yellow": (0.9, 0.78, 0.2),
    "orange": (0.9, 0.5, 0.15),
    "purple": (0.5, 0.25, 0.6),
    "white": (0.92, 0.92, 0.9),
    "black": (0.12, 0.12, 0.12),
    "grey": (0.5, 0.5, 0.5),
    "gray": (0.5, 0.5, 0.5),
    "brown": (0.45, 0.3, 0.18),
    "pink": (0.9, 0.55, 0.65),
}
COLORS: tuple[str, ...] = tuple(COLOR_RGB)

SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny", "short", "low", "narrow", "mini"),
    "large": ("large", "big", "tall", "huge", "great", "grand", "wide", "high", "long"),
}
SIZE_SCALE = {"small": 0.75, "medium": 1.0, "large": 1.35}
SIZES: tuple[str, ...] = tuple(SIZE_SCALE)

PART_WORDS: dict[str, tuple[str, ...]] = {
    "roof": ("roof", "roofed"),
    "rails": ("rails", "rail", "railing", "railings", "handrail"),
    "awning": ("awning", "canopy"),
    "striped": ("striped", "stripes", "stripy"),
    "door": ("door", "doors", "doorway", "entrance"),
    "windows": ("window", "windows"),
    "chimney": ("chimney", "smokestack"),
    "wheels": ("wheel", "wheels"),
    "pine": ("pine", "fir", "spruce", "conifer", "evergreen"),
    "flowers": ("flower", "flowers", "flowering", "blossom"),
    "bucket": ("bucket", "pail"),
    "moss": ("moss", "mossy"),
    "barrel": ("barrel", "barrels", "cask", "keg"),
    "grain": ("wheat", "corn", "barley", "grain", "rye", "oats"),
    "axe": ("axe", "hatchet"),
    "berries": ("berries", "berry", "fruit"),
}
PARTS: tuple[str, ...] = tuple(PART_WORDS)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class AssetSpec:
    """A category and its attributes: what a recipe builds. `text` is the cleaned description it came from."""

    category: str
    material: str | None = None  # one of MATERIALS; None: the recipe's own
    color: str | None = None  # one of COLORS; None: the recipe's own
    size: str = "medium"  # one of SIZES
    parts: frozenset[str] = field(default_factory=frozenset)  # of PARTS
    text: str = ""
    guessed: bool = field(default=False, compare=False)  # no word named the category: it is the default

    def key(self) -> str:
        """A stable description of the spec (what the cache and the seed hash)."""
        parts = ",".join(sorted(self.parts))
        return f"{self.category}|{self.material or ''}|{self.color or ''}|{self.size}|{parts}"

    @property
    def scale(self) -> float:
        return SIZE_SCALE[self.size]

    def describe(self) -> str:
        """What the description was read as: 'bridge (wood, small; rails)'."""
        attrs = [a for a in (self.material, self.color, None if self.size == "medium" else self.size) if a]
        parts = "; " + ", ".join(sorted(self.parts)) if self.parts else ""
        return f"{self.category} ({', '.join(attrs) or 'plain'}{parts})"


def clean_text(text: str) -> str:
    """The description as read: Unicode-normalised, control characters dropped, lower case, spaces collapsed,
    at most MAX_TEXT characters."""
    if not isinstance(text, str):
        raise TypeError(f"an asset description must be text, not {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT * 4])
    text = _CONTROL.sub(" ", text).lower()
    return " ".join(text.split())[:MAX_TEXT]


def _first(words: list[str], table: dict[str, tuple[str, ...]]) -> str | None:
    """The entry of `table` named by the earliest word that names one (ties: the table's order)."""
    lookup: dict[str, str] = {}
    for name, names in table.items():
        for w in names:
            lookup.setdefault(w, name)
    for w in words:
        if w in lookup:
            return lookup[w]
    return None


def _category(words: list[str]) -> str | None:
    """The category: a word naming one; when several do, the table's order decides ('market stall' -> stall,
    'stone well' -> well), except that a word naming a material does not name a category when another does."""
    found = [c for c, names in CATEGORY_WORDS.items() if any(w in names for w in words)]
    if len(found) > 1:
        materials = {w for names in MATERIAL_WORDS.values() for w in names}
        strong = [c for c in found if any(w in CATEGORY_WORDS[c] and w not in materials for w in words)]
        found = strong or found
    return found[0] if found else None


def parse(text: str) -> AssetSpec:
    """An `AssetSpec` from a description, by keywords; unknown words are ignored, no category word gives
    DEFAULT_CATEGORY."""
    cleaned = clean_text(text)
    words = _WORD.findall(cleaned)
    named = _category(words)
    category = named or DEFAULT_CATEGORY
    material = _first(words, MATERIAL_WORDS)
    if category == "rock" and material is None:
        material = "stone"
    parts = frozenset(p for p, names in PART_WORDS.items() if any(w in names for w in words))
    return AssetSpec(
        category=category,
        material=material,
        color=next((w for w in words if w in COLOR_RGB), None),
        size=_first(words, SIZE_WORDS) or "medium",
        parts=parts,
        text=cleaned,
        guessed=named is None,
    )


def vocabulary() -> str:
    """The words the parser knows, by what they name (what `tokenworld assets categories` prints)."""
    lines = []
    for title, table in (
        ("categories", CATEGORY_WORDS),
        ("materials", MATERIAL_WORDS),
        ("sizes", SIZE_WORDS),
        ("parts", PART_WORDS),
    ):
        lines.append(f"{title}:")
        lines += [f"  {name:<11} {', '.join(words)}" for name, words in table.items()]
    lines.append(f"colours: {', '.join(COLORS)}")
    lines.append(f"a description naming no category makes a {DEFAULT_CATEGORY}.")
    return "\n".join(lines)
