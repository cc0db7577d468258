"""Write docs/scene-format.md from the scene schema.

Run from the repository root after changing tokenworld/scene/schema.py:

    python tools/gen_scene_docs.py

tests/scene/test_docs.py fails while the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "scene-format.md"


def main() -> int:
    """Render the scene docs and write them to docs/scene-format.md."""
    sys.path.insert(0, str(ROOT))  # work without an installed package too
    from tokenworld.scene.docs import render_scene_docs

    text = render_scene_docs()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if OUT.is_file() and OUT.read_text(encoding="utf-8") == text:
        print(f"{OUT.relative_to(ROOT)} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
