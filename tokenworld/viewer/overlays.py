"""Overlays drawn over a recording: a title, the tick and clock, captions of conversations, a small plot panel.

Panda3D text and lines on the viewer's 2D layer (pixel2d), updated each frame
by a task that runs after the viewer's own (so they show the frame drawn); sizes
follow the frame's height (as laid out at 720 px). They read only the source,
so a deterministic recording draws them the same way every time.
"""

from __future__ import annotations

from importlib import resources

from tokenworld.sim.frames import describe

OVERLAYS = ("title", "clock", "captions", "plots")
DEFAULT_OVERLAYS = ("title", "clock", "captions")
CAPTION_SECONDS = 4.0  # seconds of video a conversation stays in the captions
CAPTION_LINES = 3
PLOT_SERIES = (  # (series, label, colour): smooth ones; talks and trades per tick are spikes at this size
    ("mean_hunger", "hunger", (1.0, 0.6, 0.3)),
    ("mean_energy", "energy", (0.45, 0.9, 0.5)),
    ("ties", "social ties", (1.0, 0.5, 0.8)),
)
CARD = (0.05, 0.06, 0.08, 0.78)  # behind text: dark, translucent
PLOT_POINTS = 240  # newest points drawn per series


def _font(loader, bold: bool):
    """Roboto from imgui-bundle's fonts (crisp at any size), or Panda3D's default font."""
    name = "Roboto-Bold.ttf" if bold else "Roboto-Regular.ttf"
    path = resources.files("imgui_bundle") / "assets" / "fonts" / "Roboto" / name
    try:
        from panda3d.core import Filename

        font = loader.loadFont(Filename.from_os_specific(str(path)), pixelsPerUnit=72)
        if font is None or not font.is_valid():
            return None
        font.clear()  # the font pool keeps it for the process: glyphs laid out before would move this text's texels
        return font
    except Exception:  # no such font file in this imgui-bundle: the default font still reads
        return None


class Overlays:
    """The overlays named in `show` (from OVERLAYS) over `viewer`'s frames.

    Args:
        viewer: the viewer (its base, size, source, daylight and clock).
        show: which overlays to draw.
        title: the title's text (default: the scene's name).
        ticks_per_s: ticks per second of video (how long captions stay).
    """

    def __init__(self, viewer, show=DEFAULT_OVERLAYS, *, title: str | None = None, ticks_per_s: float = 10.0):
        from panda3d.core import TextNode

        unknown = set(show) - set(OVERLAYS)
        if unknown:
            raise ValueError(f"unknown overlays {sorted(unknown)}")
        self.v = viewer
        self.show = tuple(show)
        self.k = viewer.size[1] / 720.0
        self.hold_ticks = max(int(round(CAPTION_SECONDS * ticks_per_s)), 6)
        base = viewer.base
        self.root = base.pixel2d.attach_new_node("tokenworld-overlays")
        self.root.set_bin("fixed", 100)
        self.root.set_depth_test(False)
        self.root.set_depth_write(False)
        regular, bold = _font(base.loader, False), _font(base.loader, True)
        self.shown: dict[str, str] = {}  # what each overlay shows now (tests read it)
        w, h, k = viewer.size[0], viewer.size[1], self.k
        self._text: dict[str, TextNode] = {}
        if "title" in self.show:
            node = self._make("title", bold, 30 * k, TextNode.A_left, (18 * k, 44 * k))
            node.set_text(title if title is not None else viewer.scene.name)
            self.shown["title"] = node.get_text()
        if "clock" in self.show:
            self._make("clock", regular, 20 * k, TextNode.A_right, (w - 18 * k, 36 * k))
        if "captions" in self.show:
            node = self._make("captions", regular, 21 * k, TextNode.A_center, (w / 2, h - 100 * k))
            node.set_wordwrap(min(w * 0.7, 1100 * k) / (21 * k))
        self._plot_key = None
        self._plot = None
        if "plots" in self.show:
            self._plot_box = (w - 318 * k, h - 156 * k, 300 * k, 120 * k)  # x, y (top), width, height in pixels
            self._panel(*self._plot_box)
            self._make("plots", regular, 13 * k, TextNode.A_left, (w - 312 * k, h - 164 * k))
        self.task = base.taskMgr.add(self._update, "tokenworld-overlays", sort=-5)  # after the viewer's update
        self._update(None)

    def _panel(self, x: float, y: float, w: float, h: float) -> None:
        """A translucent dark card behind the plots (x, y: top left, in pixels)."""
        from panda3d.core import CardMaker, TransparencyAttrib

        cm = CardMaker("overlay-panel")
        cm.set_frame(x, x + w, -(y + h), -y)
        node = self.root.attach_new_node(cm.generate())
        node.set_color(*CARD)
        node.set_transparency(TransparencyAttrib.M_alpha)

    def _make(self, name: str, font, scale: float, align, xy):
        from panda3d.core import TextNode

        t = TextNode(f"overlay-{name}")
        if font is not None:
            t.set_font(font)
        t.set_align(align)
        t.set_text_color(1, 1, 1, 1)
        t.set_card_color(*CARD)
        t.set_card_as_margin(0.45, 0.45, 0.25, 0.3)
        t.set_card_decal(True)
        node = self.root.attach_new_node(t)
        node.set_scale(scale)
        node.set_pos(xy[0], 0, -xy[1])
        self._text[name] = t
        return t

    def _set(self, name: str, text: str) -> None:
        t = self._text[name]
        if t.get_text() != text:
            t.set_text(text)
        self.shown[name] = text

    def _update(self, task):
        frame = self.v.source.frame
        if frame is not None:
            if "clock" in self.show:
                m, s = divmod(int(frame.sim_time), 60)
                hh, m = divmod(m, 60)
                day = self.v.daylight.hour_text(frame.sim_time)
                self._set("clock", f"tick {frame.tick:,}   {hh}:{m:02d}:{s:02d}   day {day}")
            if "captions" in self.show:
                lines = self.v.source.recent_lines(CAPTION_LINES, kinds={"talk", "intervention"})
                text = "\n".join(describe(line) for line in lines if frame.tick - line.tick <= self.hold_ticks)
                self._set("captions", text)
                self._text["captions"].set_card_color(*CARD[:3], CARD[3] if text else 0.0)
            if "plots" in self.show:
                self._draw_plots()
        return task.cont if task is not None else None

    def _draw_plots(self) -> None:
        from panda3d.core import LineSegs

        series = self.v.source.series()
        key = tuple(
            (name, len(series[name][0]), float(series[name][0][-1]))
            for name, _, _ in PLOT_SERIES
            if name in series and len(series[name][0])
        )
        if key == self._plot_key:
            return
        self._plot_key = key
        if self._plot is not None:
            self._plot.remove_node()
        x0, y0, w, h = self._plot_box
        segs = LineSegs("overlay-plots")
        segs.set_thickness(max(1.5 * self.k, 1.0))
        legend = []
        for name, label, color in PLOT_SERIES:
            if name not in series or len(series[name][0]) < 2:
                continue
            ticks, values = series[name]
            ticks, values = ticks[-PLOT_POINTS:], values[-PLOT_POINTS:]
            span_t = max(float(ticks[-1] - ticks[0]), 1e-9)
            top = max(float(values.max()), 1e-9)
            xs = x0 + 4 + (ticks - ticks[0]) / span_t * (w - 8)
            ys = y0 + h - 4 - values / top * (h - 8)
            segs.set_color(*color, 1)
            segs.move_to(float(xs[0]), 0, -float(ys[0]))
            for x, y in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
                segs.draw_to(x, 0, -y)
            legend.append(f"{label} {float(values[-1]):.3g}")
        self._plot = self.root.attach_new_node(segs.create())
        self._set("plots", "   ".join(legend) if legend else "no metrics yet")

    def close(self) -> None:
        self.v.base.taskMgr.remove(self.task)
        self.root.remove_node()
