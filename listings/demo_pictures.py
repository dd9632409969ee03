"""Product pictures for the demo listings, drawn with Pillow: a studio background, a shaded
model of the restoration (crowns, veneers, abutments, bars, dentures, splints, guides) and a
caption strip. No randomness, so every run draws the same pictures."""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from django.core.files.base import ContentFile
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

# --- the pictures -------------------------------------------------------------------------------

W, H = 1200, 900
CAPTION_H = 84

# (top of the studio sweep, bottom of it, glow behind the object)
BACKDROPS = [
    ((236, 241, 245), (188, 201, 212), (252, 253, 255)),
    ((244, 239, 232), (205, 193, 180), (255, 252, 247)),
    ((226, 236, 240), (172, 192, 202), (244, 250, 252)),
]

# Material colours: (highlight, body, shadow).
ZIRCONIA = ((255, 255, 252), (236, 232, 220), (150, 142, 128))
IVORY = ((255, 253, 246), (240, 228, 205), (158, 140, 110))
TITANIUM = ((250, 251, 253), (184, 190, 198), (84, 90, 100))
TITANIUM_DARK = ((220, 224, 230), (122, 129, 139), (48, 53, 61))
GUM = ((250, 188, 196), (214, 118, 132), (128, 52, 66))
CLEAR_BLUE = ((232, 246, 255), (150, 196, 232), (66, 112, 160))
GUIDE_BLUE = ((218, 238, 252), (108, 168, 214), (40, 88, 140))


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


class _Scene:
    """A 1200x900 product shot under construction."""

    def __init__(self, backdrop: tuple, *, grid: bool = False):
        top, bottom, glow = backdrop
        sweep = Image.linear_gradient("L").resize((W, H))
        self.image = ImageOps.colorize(sweep, top, bottom).convert("RGBA")
        glow_mask = Image.new("L", (W // 8, H // 8), 0)
        ImageDraw.Draw(glow_mask).ellipse((W // 8 * 0.12, H // 8 * 0.02, W // 8 * 0.88, H // 8 * 0.8), fill=210)
        glow_mask = glow_mask.filter(ImageFilter.GaussianBlur(12)).resize((W, H), Image.Resampling.BICUBIC)
        self.image.paste(Image.new("RGBA", (W, H), glow), (0, 0), glow_mask)
        if grid:  # a CAD viewport: faint grid lines
            overlay = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            draw = ImageDraw.Draw(overlay)
            for x in range(0, W, 50):
                draw.line((x, 0, x, H), fill=(90, 120, 140, 40 if x % 250 else 70), width=1)
            for y in range(0, H, 50):
                draw.line((0, y, W, y), fill=(90, 120, 140, 40 if y % 250 else 70), width=1)
            self.image.alpha_composite(overlay)

    @staticmethod
    def mask(draw: Callable[[ImageDraw.ImageDraw], None]) -> Image.Image:
        mask = Image.new("L", (W, H), 0)
        draw(ImageDraw.Draw(mask))
        return mask

    def shadow(self, box: tuple, *, strength: float = 0.4, blur: int = 26) -> None:
        mask = self.mask(lambda d: d.ellipse(box, fill=int(255 * strength))).filter(ImageFilter.GaussianBlur(blur))
        self.image.paste(Image.new("RGBA", (W, H), (24, 30, 38, 255)), (0, 0), mask)

    def solid(self, mask: Image.Image, colors: tuple, *, light: tuple[float, float] = (-0.3, -0.38),
              opacity: float = 1.0, rim: float = 0.7, shine: float = 0.75, streak: bool = False,
              spread: float = 1.25, edge_width: float | None = None) -> None:
        """Fill the mask with a body lit from `light` (relative to its box): a soft gradient,
        darker rims, a specular highlight and, for metal, a vertical streak."""
        box = mask.getbbox()
        if not box:
            return
        x0, y0 = max(0, box[0] - 4), max(0, box[1] - 4)
        x1, y1 = min(W, box[2] + 4), min(H, box[3] + 4)
        shape = mask.crop((x0, y0, x1, y1)).filter(ImageFilter.GaussianBlur(1.1))
        w, h = shape.size
        hi, body, lo = colors
        lx, ly = w * (0.5 + light[0]), h * (0.5 + light[1])
        radius = max(w, h) * spread  # the light falls off over this distance
        scale = 128 / radius  # pixels of the picture -> pixels of Pillow's 256x256 radial gradient
        shade = Image.radial_gradient("L").resize(
            (w, h), box=((radius - lx) * scale, (radius - ly) * scale, (radius - lx + w) * scale,
                         (radius - ly + h) * scale))
        colored = ImageOps.colorize(shade, black=hi, white=lo, mid=body, blackpoint=0, whitepoint=230, midpoint=95)
        inner = shape.filter(ImageFilter.GaussianBlur(edge_width or max(3, min(w, h) * 0.07)))
        edge = ImageChops.subtract(shape, inner).point(lambda v: min(255, int(v * 2.2 * rim)))
        colored.paste(lo, (0, 0), edge)
        if streak:
            band = Image.new("L", (w, h), 0)
            ImageDraw.Draw(band).rectangle((w * 0.26, 0, w * 0.36, h), fill=200)
            band = ImageChops.multiply(band.filter(ImageFilter.GaussianBlur(max(2, w * 0.04))), inner)
            colored.paste((255, 255, 255), (0, 0), band)
        if shine:
            spot = Image.new("L", (w, h), 0)
            rx, ry = max(4, w * 0.1), max(3, h * 0.07)
            sx, sy = lx + w * 0.06, ly + h * 0.08
            ImageDraw.Draw(spot).ellipse((sx - rx, sy - ry, sx + rx, sy + ry), fill=int(255 * shine))
            spot = ImageChops.multiply(spot.filter(ImageFilter.GaussianBlur(max(2, min(w, h) * 0.05))), inner)
            colored.paste((255, 255, 255), (0, 0), spot)
        layer = colored.convert("RGBA")
        layer.putalpha(shape if opacity >= 1 else shape.point(lambda v: int(v * opacity)))
        self.image.alpha_composite(layer, (x0, y0))

    def paint(self, draw: Callable[[ImageDraw.ImageDraw], None], color: tuple, *, alpha: float = 0.5,
              blur: float = 1.5, within: Image.Image | None = None) -> None:
        """Soft details (grooves, holes, lines) in one colour, optionally kept inside a mask."""
        mask = self.mask(draw)
        box = mask.getbbox()
        if not box:
            return
        pad = int(blur * 3) + 2
        box = (max(0, box[0] - pad), max(0, box[1] - pad), min(W, box[2] + pad), min(H, box[3] + pad))
        mask = mask.crop(box)
        if blur:
            mask = mask.filter(ImageFilter.GaussianBlur(blur))
        if within is not None:
            mask = ImageChops.multiply(mask, within.crop(box))
        mask = mask.point(lambda v: int(v * alpha))
        self.image.paste(Image.new("RGBA", mask.size, (*color, 255)), box[:2], mask)

    def caption(self, title: str, note: str) -> None:
        overlay = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        draw.rectangle((0, H - CAPTION_H, W, H), fill=(16, 34, 44, 222))
        draw.rectangle((0, H - CAPTION_H, 10, H), fill=(11, 150, 170, 255))
        draw.text((44, H - CAPTION_H / 2), title, fill=(255, 255, 255, 255), font=_font(34), anchor="lm")
        draw.text((W - 40, H - CAPTION_H / 2), note, fill=(178, 208, 218, 255), font=_font(24), anchor="rm")
        self.image.alpha_composite(overlay)

    def png(self, name: str) -> ContentFile:
        buffer = io.BytesIO()
        self.image.convert("RGB").save(buffer, format="PNG", compress_level=1)
        return ContentFile(buffer.getvalue(), name=name)


# Shapes, drawn into masks. Coordinates are pixels of the 1200x900 picture.


def _crown(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, *, pontic: bool = False) -> None:
    """A molar crown seen from the side: three cusps, a rounded body, tapering to the margin."""
    for dx, dy in ((-0.27, -0.34), (0.0, -0.31), (0.27, -0.35)):
        rx, ry = w * 0.25, h * 0.17
        d.ellipse((cx + dx * w - rx, cy + dy * h - ry, cx + dx * w + rx, cy + dy * h + ry), fill=255)
    d.rounded_rectangle((cx - w / 2, cy - h * 0.36, cx + w / 2, cy + h * 0.14), radius=w * 0.2, fill=255)
    bottom = h * (0.3 if pontic else 0.46)
    narrow = 0.3 if pontic else 0.36
    d.polygon([(cx - w * 0.49, cy), (cx + w * 0.49, cy), (cx + w * narrow, cy + bottom),
               (cx - w * narrow, cy + bottom)], fill=255)
    d.ellipse((cx - w * narrow, cy + bottom - h * 0.07, cx + w * narrow, cy + bottom + h * 0.07), fill=255)


def _crown_details(scene: _Scene, cx: float, cy: float, w: float, h: float, *, margin: bool = True) -> None:
    def grooves(d):
        for dx in (-0.135, 0.135):
            d.line([(cx + dx * w, cy - h * 0.47), (cx + dx * w * 0.9, cy - h * 0.36),
                    (cx + dx * w * 0.8, cy - h * 0.24)], fill=255, width=max(2, int(w * 0.025)))
    scene.paint(grooves, (120, 110, 96), alpha=0.45, blur=2.5)
    if margin:
        scene.paint(lambda d: d.arc((cx - w * 0.36, cy + h * 0.39, cx + w * 0.36, cy + h * 0.53), 0, 180,
                                    fill=255, width=3), (110, 100, 88), alpha=0.5, blur=1.2)


def _incisor(d: ImageDraw.ImageDraw, cx: float, top: float, w: float, h: float) -> None:
    """An upper front tooth seen from the front: narrow at the gum, wide at the incisal edge."""
    left, right = [], []
    steps = 24
    for i in range(steps + 1):
        t = i / steps
        half = w / 2 * (0.6 + 0.4 * math.sin(min(1.0, t * 1.5) * math.pi / 2))
        y = top + t * h
        left.append((cx - half, y))
        right.append((cx + half, y))
    edge = [(cx - w / 2 * math.cos(i / 10 * math.pi), top + h + h * 0.03 * math.sin(i / 10 * math.pi))
            for i in range(1, 10)]  # the incisal edge, slightly rounded
    d.polygon(left + edge + right[::-1], fill=255)
    d.ellipse((cx - w * 0.3, top - h * 0.08, cx + w * 0.3, top + h * 0.14), fill=255)


def _ellipse_points(cx: float, cy: float, a: float, b: float, start: float, end: float, n: int) -> list:
    return [(cx + a * math.cos(math.radians(start + (end - start) * i / (n - 1))),
             cy + b * math.sin(math.radians(start + (end - start) * i / (n - 1)))) for i in range(n)]


def _arch(d: ImageDraw.ImageDraw, cx: float, cy: float, a: float, b: float, thickness: float, *,
          start: float = -20, end: float = 200, fill: int = 255) -> None:
    """A horseshoe (a dental arch seen from above, front teeth at the bottom) with rounded ends."""
    r = thickness / 2
    for x, y in _ellipse_points(cx, cy, a, b, start, end, 160):
        d.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _rotated_ellipse(d: ImageDraw.ImageDraw, cx: float, cy: float, rx: float, ry: float, angle: float) -> None:
    c, s = math.cos(angle), math.sin(angle)
    points = []
    for i in range(40):
        t = 2 * math.pi * i / 40
        x, y = rx * math.cos(t), ry * math.sin(t)
        points.append((cx + x * c - y * s, cy + x * s + y * c))
    d.polygon(points, fill=255)


def _arch_teeth(scene: _Scene, cx: float, cy: float, a: float, b: float, *, colors=IVORY, count: int = 14,
                start: float = -8, end: float = 188, size: float = 1.0) -> None:
    """Teeth along an arch seen from above: molars wide at the ends, incisors narrow at the front."""
    for i in range(count):
        t = i / (count - 1)
        angle = math.radians(start + (end - start) * t)
        x, y = cx + a * math.cos(angle), cy + b * math.sin(angle)
        front = abs(t - 0.5) * 2  # 0 at the midline, 1 at the last molar
        rx = (26 + 18 * front) * size  # across the arch
        ry = (29 + 12 * front) * size  # along the arch
        tangent = math.atan2(b * math.cos(angle), -a * math.sin(angle))
        mask = scene.mask(lambda d, x=x, y=y, rx=rx, ry=ry, tangent=tangent: _rotated_ellipse(
            d, x, y, ry, rx, tangent))
        scene.solid(mask, colors, rim=0.8, shine=0.6)
        if front > 0.45:  # fissures on premolars and molars
            scene.paint(lambda d, x=x, y=y, r=ry * 0.45, tangent=tangent: d.line(
                [(x - r * math.cos(tangent), y - r * math.sin(tangent)),
                 (x + r * math.cos(tangent), y + r * math.sin(tangent))], fill=255, width=3),
                (130, 112, 86), alpha=0.45, blur=1.5)


def _cylinder(scene: _Scene, x: float, y: float, r: float, depth: float, colors=TITANIUM) -> None:
    """A short metal cylinder seen from slightly above (implant sleeve or screw channel) with its hole."""
    scene.solid(scene.mask(lambda d: (d.rectangle((x - r, y, x + r, y + depth), fill=255),
                                      d.ellipse((x - r, y + depth - r * 0.45, x + r, y + depth + r * 0.45),
                                                fill=255))), TITANIUM_DARK, streak=True, shine=0)
    scene.solid(scene.mask(lambda d: d.ellipse((x - r, y - r * 0.45, x + r, y + r * 0.45), fill=255)), colors,
                rim=0.5, shine=0.5)
    scene.paint(lambda d: d.ellipse((x - r * 0.5, y - r * 0.22, x + r * 0.5, y + r * 0.22), fill=255),
                (30, 34, 40), alpha=0.85, blur=1)


def _extruded_arch(scene: _Scene, cx: float, cy: float, a: float, b: float, thickness: float, depth: float,
                   colors: tuple, *, opacity: float = 1.0, holes: Callable | None = None) -> Image.Image:
    """A horseshoe with a visible side wall, as a splint, guide or bar looks from above and in front."""
    side = scene.mask(lambda d: [_arch(d, cx, cy + offset, a, b, thickness) for offset in range(0, int(depth), 3)])
    darker = tuple(tuple(int(channel * 0.82) for channel in color) for color in colors)
    scene.solid(side, darker, opacity=opacity, shine=0, light=(-0.2, 0.1), spread=2, edge_width=thickness * 0.15)
    top = scene.mask(lambda d: _arch(d, cx, cy, a, b, thickness))
    if holes:
        holes(ImageDraw.Draw(top))
    scene.solid(top, colors, opacity=opacity, rim=0.9, light=(-0.25, -0.45), spread=2, edge_width=thickness * 0.15)
    return top


# Scenes: each draws one view (0, 1, 2) of a kind of restoration.


def _scene_crowns(scene: _Scene, view: int) -> None:
    if view == 1:  # a single molar crown, large
        scene.shadow((390, 690, 810, 760))
        scene.solid(scene.mask(lambda d: _crown(d, 600, 400, 400, 520)), ZIRCONIA)
        _crown_details(scene, 600, 400, 400, 520)
        return
    units, w, h, y = (3, 250, 330, 400) if view == 0 else (4, 190, 250, 420)
    xs = [600 + (i - (units - 1) / 2) * w * 0.93 for i in range(units)]
    scene.shadow((xs[0] - w * 0.55, y + h * 0.48, xs[-1] + w * 0.55, y + h * 0.62))
    pontics = {1} if units == 3 else {1, 2}
    scene.solid(scene.mask(lambda d: [_crown(d, x, y, w, h, pontic=i in pontics) for i, x in enumerate(xs)]),
                ZIRCONIA, light=(-0.32, -0.45))
    for i, x in enumerate(xs):
        _crown_details(scene, x, y, w, h, margin=i not in pontics)


def _scene_veneers(scene: _Scene, view: int) -> None:
    if view == 1:  # an onlay next to a veneer
        scene.shadow((220, 620, 560, 690))
        scene.solid(scene.mask(lambda d: _crown(d, 390, 470, 300, 260, pontic=True)), IVORY)
        _crown_details(scene, 390, 470, 300, 260, margin=False)
        scene.shadow((700, 660, 960, 720))
        scene.solid(scene.mask(lambda d: _incisor(d, 830, 200, 230, 450)), IVORY, opacity=0.94)
        return
    widths = [150, 190, 190, 150] if view == 0 else [120, 150, 150, 120]
    heights = [300, 360, 360, 300] if view == 0 else [240, 290, 290, 240]
    gap = 8
    total = sum(widths) + gap * 3
    x = 600 - total / 2
    scene.shadow((x - 20, 620, x + total + 20, 690))
    for width, height in zip(widths, heights, strict=True):
        top = 230 + (360 - height) * 0.35
        scene.solid(scene.mask(lambda d, x=x, w=width, t=top, h=height: _incisor(d, x + w / 2, t, w, h)), IVORY,
                    opacity=0.95)
        scene.paint(lambda d, x=x, w=width, t=top, h=height: d.rectangle((x, t + h * 0.8, x + w, t + h * 1.05),
                                                                         fill=255),
                    (150, 170, 190), alpha=0.25, blur=14,
                    within=scene.mask(lambda d, x=x, w=width, t=top, h=height: _incisor(d, x + w / 2, t, w, h)))
        x += width + gap


def _smile_row(scene: _Scene, *, gum_y: float, scale: float, gum=GUM, gum_height: float = 110) -> None:
    """Six upper front teeth seen from the front, under a scalloped gum line."""
    widths = [0.8, 0.74, 1.0, 1.0, 0.74, 0.8]
    heights = [0.95, 0.82, 1.0, 1.0, 0.82, 0.95]
    base_w, base_h = 120 * scale, 250 * scale
    total = sum(widths) * base_w
    left = 600 - total / 2
    scene.shadow((left - 30, gum_y + base_h * 1.05, left + total + 30, gum_y + base_h * 1.25), strength=0.3)
    teeth, x = [], left
    for width, height in zip(widths, heights, strict=True):
        w, h = width * base_w, height * base_h
        offset = abs(x + w / 2 - 600) / total  # the incisal edges rise towards the corners of the smile
        teeth.append((x + w / 2, gum_y - 30 + (1 - height) * base_h * 0.15 + offset * 10, w, h))
        x += w
    for cx, top, w, h in teeth:
        scene.solid(scene.mask(lambda d, cx=cx, t=top, w=w, h=h: _incisor(d, cx, t, w * 0.97, h + 20)), IVORY,
                    rim=0.8)

    def gingiva(d):
        d.rounded_rectangle((left - 40, gum_y - gum_height, left + total + 40, gum_y + 50 * scale), radius=60,
                            fill=255)
        for cx, _top, w, _h in teeth:  # the gum line arches over each tooth, papillae in between
            d.ellipse((cx - w * 0.46, gum_y, cx + w * 0.46, gum_y + 150 * scale), fill=0)

    scene.solid(scene.mask(gingiva), gum, light=(-0.2, -0.6), rim=0.5)


def _scene_smile(scene: _Scene, view: int) -> None:
    scale = (1.0, 1.2, 0.85)[view]
    gum_y = (300, 280, 320)[view]
    _smile_row(scene, gum_y=gum_y, scale=scale)
    # design guides: the midline and the smile line, as the planning software draws them
    teal = (11, 150, 170)
    scene.paint(lambda d: [d.line((600, y, 600, y + 14), fill=255, width=3) for y in range(120, 760, 26)], teal,
                alpha=0.9, blur=0)
    low = gum_y + 250 * scale * 1.02
    scene.paint(lambda d: d.line(_ellipse_points(600, low - 330 * scale, 380 * scale, 330 * scale, 35, 145, 60),
                                 fill=255, width=4), teal, alpha=0.8, blur=0.6)


def _abutment(d: ImageDraw.ImageDraw, cx: float, base: float, s: float, *, post: float = 1.0) -> None:
    """An implant abutment seen from the side; `base` is the implant platform level."""
    d.rectangle((cx - 34 * s, base, cx + 34 * s, base + 60 * s), fill=255)  # connection
    d.polygon([(cx - 34 * s, base), (cx + 34 * s, base), (cx + 78 * s, base - 70 * s),
               (cx - 78 * s, base - 70 * s)], fill=255)  # emergence profile
    d.ellipse((cx - 80 * s, base - 88 * s, cx + 80 * s, base - 52 * s), fill=255)  # margin
    top = base - 70 * s - 190 * s * post
    d.polygon([(cx - 64 * s, base - 70 * s), (cx + 64 * s, base - 70 * s), (cx + 46 * s, top), (cx - 46 * s, top)],
              fill=255)
    d.rounded_rectangle((cx - 46 * s, top - 14 * s, cx + 46 * s, top + 24 * s), radius=14 * s, fill=255)


def _screw(scene: _Scene, cx: float, top: float, s: float) -> None:
    length = 150 * s
    shank = scene.mask(lambda d: (d.rectangle((cx - 22 * s, top, cx + 22 * s, top + length), fill=255),
                                  d.ellipse((cx - 22 * s, top + length - 18 * s, cx + 22 * s, top + length + 18 * s),
                                            fill=255)))
    scene.solid(shank, TITANIUM_DARK, streak=True, shine=0)
    scene.paint(lambda d: [d.line((cx - 22 * s, y, cx + 22 * s, y + 10 * s), fill=255, width=max(2, int(4 * s)))
                           for y in range(int(top + 30 * s), int(top + length), int(14 * s))],
                (40, 44, 52), alpha=0.6, blur=1, within=shank)


def _scene_abutment(scene: _Scene, view: int) -> None:
    if view == 1:  # screw-retained crown over a short Ti-base
        scene.shadow((430, 740, 770, 790))
        _screw(scene, 600, 600, 1.0)
        scene.solid(scene.mask(lambda d: _abutment(d, 600, 620, 1.0, post=0.55)), TITANIUM, streak=True)
        scene.solid(scene.mask(lambda d: _crown(d, 600, 250, 360, 330)), ZIRCONIA)
        _crown_details(scene, 600, 250, 360, 330)
        scene.paint(lambda d: d.ellipse((578, 118, 622, 136), fill=255), (40, 44, 52), alpha=0.8, blur=1)
        return
    positions = [(600, 1.35, 1.0)] if view == 0 else [(380, 0.95, 0.8), (600, 1.05, 1.1), (820, 0.95, 0.6)]
    for cx, s, post in positions:
        base = 520 if view == 0 else 560
        scene.shadow((cx - 110 * s, base + 200 * s, cx + 110 * s, base + 235 * s), strength=0.35)
        _screw(scene, cx, base + 50 * s, s)
        scene.solid(scene.mask(lambda d, cx=cx, base=base, s=s, post=post: _abutment(d, cx, base, s, post=post)),
                    TITANIUM, streak=True, light=(-0.25, -0.3))


def _scene_bar(scene: _Scene, view: int) -> None:
    if view == 1:  # the hybrid bridge that goes on the bar
        scene.shadow((240, 600, 960, 700), strength=0.3)
        _extruded_arch(scene, 600, 330, 300, 260, 150, 30, GUM)
        _arch_teeth(scene, 600, 330, 300, 260, size=1.05)
        for angle in (20, 62, 118, 160):
            x, y = 600 + 300 * math.cos(math.radians(angle)), 330 + 260 * math.sin(math.radians(angle))
            scene.paint(lambda d, x=x, y=y: d.ellipse((x - 9, y - 9, x + 9, y + 9), fill=255), (40, 44, 52),
                        alpha=0.85, blur=1)
        return
    a, b, cy = (310, 220, 300) if view == 0 else (280, 170, 330)
    scene.shadow((600 - a - 40, cy + b + 20, 600 + a + 40, cy + b + 90), strength=0.3)
    _extruded_arch(scene, 600, cy, a, b, 56, 34, TITANIUM)
    angles = (15, 62, 118, 165) if view == 0 else (10, 45, 75, 105, 135, 170)
    for angle in angles:
        x, y = 600 + a * math.cos(math.radians(angle)), cy + b * math.sin(math.radians(angle))
        _cylinder(scene, x, y - 20, 32, 40)


def _scene_denture(scene: _Scene, view: int) -> None:
    if view == 1:  # front view of the upper denture
        _smile_row(scene, gum_y=330, scale=1.1, gum_height=170)
        return
    cy = 300 if view == 0 else 320
    scene.shadow((260, cy + 270, 940, cy + 350), strength=0.3)
    _extruded_arch(scene, 600, cy, 300, 260, 170, 40, GUM)
    _arch_teeth(scene, 600, cy, 300, 260, size=1.1)


def _scene_splint(scene: _Scene, view: int) -> None:
    a, b, cy = ((300, 250, 300), (320, 200, 320), (280, 230, 310))[view]
    scene.shadow((600 - a - 50, cy + b + 30, 600 + a + 50, cy + b + 100), strength=0.22)
    top = _extruded_arch(scene, 600, cy, a, b, 120, 46, CLEAR_BLUE, opacity=0.8)
    # the imprints of the teeth on the fitting side show through the clear resin
    _arch_teeth(scene, 600, cy, a, b, colors=((242, 250, 255), (196, 222, 242), (120, 160, 200)), size=0.85)
    scene.paint(lambda d: _arch(d, 600, cy, a, b, 120), (255, 255, 255), alpha=0.18, blur=10, within=top)


def _scene_guide(scene: _Scene, view: int) -> None:
    a, b, cy = ((300, 240, 300), (320, 200, 320), (280, 220, 310))[view]
    sleeves = (35, 90, 145) if view != 1 else (25, 70, 110, 155)

    def windows(d):  # inspection windows to check that the guide is seated
        for angle in (12, 168, 62, 118):
            if angle in sleeves:
                continue
            x, y = 600 + a * math.cos(math.radians(angle)), cy + b * math.sin(math.radians(angle))
            d.rounded_rectangle((x - 20, y - 14, x + 20, y + 14), radius=6, fill=0)

    scene.shadow((600 - a - 50, cy + b + 30, 600 + a + 50, cy + b + 100), strength=0.3)
    _extruded_arch(scene, 600, cy, a, b, 130, 44, GUIDE_BLUE, opacity=0.9, holes=windows)
    for angle in sleeves:
        x, y = 600 + a * math.cos(math.radians(angle)), cy + b * math.sin(math.radians(angle))
        _cylinder(scene, x, y - 18, 26, 30)


SCENES: dict[str, Callable[[_Scene, int], None]] = {
    "crowns": _scene_crowns,
    "veneers": _scene_veneers,
    "smile": _scene_smile,
    "abutment": _scene_abutment,
    "bar": _scene_bar,
    "denture": _scene_denture,
    "splint": _scene_splint,
    "guide": _scene_guide,
}


def demo_listing_image(scene_name: str, view: int, *, category: str, caption: str, views: int = 3) -> ContentFile:
    """One 1200x900 PNG product shot: view 0, 1 or 2 of the scene."""
    scene = _Scene(BACKDROPS[view % len(BACKDROPS)], grid=view == 2)
    SCENES[scene_name](scene, view)
    scene.caption(category, f"{caption}  |  view {view + 1} of {views}" if caption else f"view {view + 1} of {views}")
    return scene.png(f"{scene_name}-{view + 1}.png")


def demo_listing_images(scene_name: str, *, category: str, caption: str, views: int = 3) -> list[ContentFile]:
    return [demo_listing_image(scene_name, view, category=category, caption=caption, views=views)
            for view in range(views)]
