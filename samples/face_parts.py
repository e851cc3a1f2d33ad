"""Image rigs of the sample actor: the portrait canvas, the mouth, the eyelids and the head.

Every rig works in canvas pixels: the portrait zoomed into the output frame before head motion.
Landmarks were measured by eye on `skimage.data.astronaut()` (512×512, pixel-centre coordinates,
x to the right, y down) and are converted to canvas pixels once. Each rig renders a backward warp
(`cv2.remap`: for every output pixel, where to sample the unmodified canvas) plus soft overlays.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.data import astronaut

SOURCE_SIZE = 512  # the portrait is 512×512
FACE_ZOOM = 2.8  # portrait px -> output px at 720 p: brow to chin ≈ 94 px -> ≈ 265 px
FACE_X = 225.0  # the face's vertical axis in the portrait
FACE_AT = 0.45  # fraction of the frame width where that axis lands (the shuttle stays in shot)

# Inner lip contours, sampled at MOUTH_X: the upper lip's lower edge and the lower lip's upper
# edge. The photo smiles with the upper teeth showing between them (about 5.6 px at the centre);
# the dark corners of the mouth lie between them too. The ends are the mouth corners.
MOUTH_X = (202.5, 206.0, 210.0, 216.0, 222.0, 228.0, 234.0, 238.0, 242.0, 245.0)
UPPER_INNER = (139.8, 140.6, 141.6, 142.6, 142.9, 142.7, 142.2, 141.4, 140.6, 140.6)
LOWER_INNER = (139.8, 142.6, 146.6, 148.2, 148.5, 148.2, 146.9, 145.3, 143.0, 140.6)
MOUTH_MID_X = 223.75  # halfway between the corners
NOSE_BASE = (223.0, 132.5)  # subnasale, the top of the philtrum
LOWER_LIP_DEPTH = 9.0  # lower lip's inner edge to below its outer edge (≈ 154 at the centre)
CHIN_Y = 186.0  # bottom of the chin on the face's axis
NECK_FADE = 22.0  # the jaw's motion fades out over this much neck below the chin
JAW_HALF = 40.0  # the jaw moves with the mouth out to about this far from the axis
HEAD_CENTRE = (226.0, 105.0)  # centre of the head with its hair
HEAD_RADII = (80.0, 102.0)  # ellipse that holds head, hair and chin; motion fades outside it
NECK_PIVOT = (224.0, 205.0)  # the head rolls about the neck


@dataclass(frozen=True)
class EyeSpec:
    """One eye in portrait pixels."""

    outer: tuple[float, float]  # corner away from the nose
    inner: tuple[float, float]  # corner next to the nose
    lid_up: float  # upper-lid margin above the corner-to-corner line at the eye's middle
    lid_low: float  # lower-lid margin below that line
    skin: float  # height of lid skin above the margin that stretches down in a blink


EYE_IMAGE_LEFT = EyeSpec(
    outer=(193.5, 100.5), inner=(211.5, 102.5), lid_up=3.1, lid_low=2.8, skin=4.0
)  # the actor's right eye
EYE_IMAGE_RIGHT = EyeSpec(
    outer=(258.0, 102.5), inner=(235.5, 103.5), lid_up=2.7, lid_low=2.3, skin=3.8
)  # the actor's left eye

Array = np.ndarray


def smoothstep(x: Array | float) -> Array:
    """0 below 0, 1 above 1, a cubic ease in between (elementwise)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _grid(x0: int, y0: int, x1: int, y1: int) -> tuple[Array, Array]:
    """Canvas coordinates of the pixels of a box, each (h, w) float32."""
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy


class Portrait:
    """The astronaut portrait zoomed and cropped into a width×height canvas (H, W, 3) uint8 RGB."""

    def __init__(self, width: int, height: int) -> None:
        # Zoom for face size, or more if the frame is too wide for the photo at that zoom.
        self.scale = max(FACE_ZOOM * height / 720, width / SOURCE_SIZE)
        span = width / self.scale
        ox = float(np.clip(FACE_X - FACE_AT * span, 0.0, SOURCE_SIZE - span))
        self.offset = (-self.scale * ox, 0.0)  # canvas = scale * portrait + offset
        warp = np.array([[self.scale, 0, self.offset[0]], [0, self.scale, self.offset[1]]])
        canvas = cv2.warpAffine(
            astronaut(),
            warp,
            (width, height),
            flags=cv2.INTER_LANCZOS4,
            borderMode=cv2.BORDER_REFLECT_101,
        ).astype(np.float32)
        # The zoom softens the photo; a gentle unsharp mask gives back some skin texture.
        blur = cv2.GaussianBlur(canvas, (0, 0), 0.45 * self.scale)
        self.canvas = np.clip(canvas + 0.5 * (canvas - blur), 0, 255).astype(np.uint8)
        self.width, self.height = width, height

    def x(self, value: float) -> float:
        return self.scale * value + self.offset[0]

    def y(self, value: float) -> float:
        return self.scale * value + self.offset[1]

    def point(self, xy: tuple[float, float]) -> tuple[float, float]:
        return self.x(xy[0]), self.y(xy[1])

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """Portrait-pixel box -> canvas box (x0, y0, x1, y1) clipped to the canvas."""
        left, top = max(int(self.x(x0)), 0), max(int(self.y(y0)), 0)
        right = min(int(np.ceil(self.x(x1))), self.width)
        return left, top, right, min(int(np.ceil(self.y(y1))), self.height)


# Colours inside the mouth (RGB): shadowed back of the mouth, its floor, and the tongue.
CAVITY_TOP = np.array([30, 12, 13], np.float32)
CAVITY_LOW = np.array([72, 27, 29], np.float32)
TONGUE = np.array([136, 62, 64], np.float32)
MAX_GAP = 0.30  # widest inner-lip gap as a fraction of the mouth's width (a wide "ah")
JAW_SHARE = 0.85  # share of the photo's lip gap that the jaw closes; the lips close the rest


class MouthRig:
    """Opens, closes, rounds and spreads the portrait's mouth by a backward warp plus overlays."""

    def __init__(self, p: Portrait) -> None:
        u = p.scale
        self.unit = u
        self.knots = np.array([p.x(v) for v in MOUTH_X], np.float32)
        self.edge = np.array([p.y(v) for v in UPPER_INNER], np.float32)  # upper lip's inner edge
        # Sample the lips half a portrait px inside their inner edges, clear of the teeth; the
        # margin vanishes at the corners so the skin beyond them is not cut.
        margin = 0.5 * u * np.array([0.0] + [1.0] * (len(MOUTH_X) - 2) + [0.0], np.float32)
        self.upper = self.edge - margin
        self.lower = np.array([p.y(v) for v in LOWER_INNER], np.float32) + margin
        self.xm = p.x(MOUTH_MID_X)
        self.hw = float(self.knots[-1] - self.knots[0]) / 2  # half the mouth's width
        self.edge_mid = float(np.interp(self.xm, self.knots, self.edge))
        self.gap_mid = float(np.interp(self.xm, self.knots, self.lower - self.upper))
        self.nose_y, self.chin_y = p.y(NOSE_BASE[1]), p.y(CHIN_Y)
        self.max_gap = MAX_GAP * 2 * self.hw  # canvas px
        half = max(JAW_HALF, 2.4 * (MOUTH_X[-1] - MOUTH_X[0]) / 2) + 2
        x0, y0, x1, y1 = p.box(
            MOUTH_MID_X - half, NOSE_BASE[1], MOUTH_MID_X + half, CHIN_Y + NECK_FADE + 2
        )
        self.roi = (slice(y0, y1), slice(x0, x1))
        self.gx, self.gy = _grid(x0, y0, x1, y1)
        gx, gy, hw = self.gx, self.gy, self.hw
        reach = 0.15 * hw + 4 * u  # spread corners move out ~0.1 hw; shading reaches ~3 u
        self.cols = slice(
            max(int(self.knots[0] - reach) - x0, 0), int(self.knots[-1] + reach) - x0 + 1
        )
        ax = np.abs(gx - self.xm)
        jaw = JAW_HALF * u
        self.lateral = 1 - smoothstep((ax - 0.45 * jaw) / (0.55 * jaw))  # where the jaw moves
        self.neck = 1 - smoothstep((gy - self.chin_y) / (NECK_FADE * u))
        # Region that follows the corners when the mouth rounds or spreads.
        above = smoothstep((gy - self.nose_y) / (self.edge_mid - self.nose_y - 0.1 * hw))
        below = 1 - smoothstep((gy - self.edge_mid - 0.4 * hw) / (0.8 * hw))
        across = 1 - smoothstep((ax - 0.5 * hw) / (1.8 * hw))
        self.pull = (np.where(gy < self.edge_mid, above, below) * across).astype(np.float32)
        # Soft patches on the corners: pursing lowers the smile's raised corners.
        corner = np.zeros_like(gx)
        for cx, cy in ((self.knots[0], self.edge[0]), (self.knots[-1], self.edge[-1])):
            corner += np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (0.4 * hw) ** 2)
        self.corner = corner * above  # nothing moves at the nose

    def gap_px(self, open_: float) -> float:
        """Inner-lip gap at the mouth's centre for an opening 0..1; tiny openings stay sealed."""
        return self.max_gap * max(0.0, (open_ - 0.04) / 0.96)

    def _maps(self, h_mid: float, width: float) -> dict[str, Array]:
        """Per-pixel geometry of the ROI for a centre gap `h_mid` (canvas px) and a width pose."""
        gx, u, hw = self.gx, self.unit, self.hw
        pursed = max(-width, 0.0)
        gy = self.gy - 2.2 * u * pursed * self.corner
        k = (1 + (0.10 if width > 0 else 0.26) * width) * (1 - 0.08 * h_mid / self.max_gap)
        qx = gx - (gx - self.xm) * (1 - 1 / k) * self.pull
        edge = np.interp(qx, self.knots, self.edge)
        up = np.interp(qx, self.knots, self.upper)
        lo = np.interp(qx, self.knots, self.lower)
        t = (qx - self.xm) / hw
        t_gap = t / (1 - 0.55 * pursed)  # a pursed mouth opens in a smaller, rounder hole
        power = 2.4 + 0.6 * max(width, 0.0) - 0.4 * pursed
        h = h_mid * np.clip(1 - np.abs(t_gap) ** power, 0, 1) ** (0.75 - 0.25 * pursed)
        rise = 0.22 + 0.25 * pursed  # the upper lip rises as the jaw drops; more when pursed
        lift = rise * h
        top = edge - lift  # output row of the upper lip's inner edge
        bot = top + h
        qy_up = gy + (up - top) * smoothstep((gy - self.nose_y) / (top - self.nose_y))
        qy_up = np.minimum(qy_up, up)
        d_lip = lo - bot
        d_jaw = (JAW_SHARE * self.gap_mid + rise * h_mid - h_mid) * self.lateral
        depth = LOWER_LIP_DEPTH * u * (1 + 2.5 * np.clip(np.abs(t) - 0.5, 0, 2))
        blend = smoothstep((gy - bot) / depth)
        qy_lo = np.maximum(gy + (d_lip * (1 - blend) + d_jaw * blend) * self.neck, lo)
        qy = np.where(gy < top + 0.5 * h, qy_up, qy_lo)
        return {
            "qx": qx,
            "qy": qy,
            "gy": gy,
            "up": up,
            "lo": lo,
            "t": t,
            "t_gap": t_gap,
            "top": top,
            "h": h,
        }

    def render(self, src: Array, dst: Array, open_: float, width: float, teeth: float) -> float:
        """Draw the mouth pose from canvas `src` into frame `dst` (both (H, W, 3) uint8).

        Returns the inner-lip gap at the centre in canvas px.
        """
        h_mid = self.gap_px(open_)
        m = self._maps(h_mid, width)
        lips = cv2.remap(
            src, m["qx"].astype(np.float32), m["qy"].astype(np.float32), cv2.INTER_LINEAR
        )
        # Overlays only where the lips can part: rows around the lip line, columns of the mouth.
        y0 = self.roi[0].start
        rows = slice(
            max(int(self.edge.min() - 0.5 * h_mid - 4 * self.unit) - y0, 0),
            int(self.edge.max() + h_mid + 4 * self.unit) - y0,
        )
        box = (rows, self.cols)
        near = {key: value[box] for key, value in m.items()}
        lips[box] = self._overlay(src, lips[box].astype(np.float32), near, h_mid, teeth)
        dst[self.roi] = lips
        return h_mid

    def _overlay(
        self, src: Array, lips: Array, m: dict[str, Array], h_mid: float, teeth: float
    ) -> Array:
        """Teeth, oral cavity and lip shading composited over the warped `lips` (h, w, 3)."""
        gy, u, t, top, h = m["gy"], self.unit, m["t"], m["top"], m["h"]
        # Upper teeth hang from under the upper lip: show their biting edge, not their roots.
        teeth_h = teeth * np.minimum(h, m["lo"] - m["up"])
        qy_teeth = np.clip(m["lo"] - 0.9 * u - (top + teeth_h - gy), m["up"], m["lo"])
        tooth = cv2.remap(
            src, m["qx"].astype(np.float32), qy_teeth.astype(np.float32), cv2.INTER_LINEAR
        ).astype(np.float32)
        centre = np.clip(1 - t * t, 0, 1)[..., None]
        under_lip = smoothstep((gy - top) / (1.5 * u))[..., None]
        tooth = tooth * (0.62 + 0.25 * centre) * (0.75 + 0.25 * under_lip)
        depth = np.clip((gy - top) / np.maximum(h, 1.0), 0, 1)[..., None]
        cavity = CAVITY_TOP + (CAVITY_LOW - CAVITY_TOP) * depth
        # The tongue: a soft mound rising from the floor of the mouth, lit from the front.
        mound = (m["t_gap"] / 0.65) ** 2 + ((depth[..., 0] - 1.1) / 0.55) ** 2
        tongue = (1 - smoothstep((mound - 0.45) / 0.55)) * smoothstep((depth[..., 0] - 0.4) / 0.5)
        tongue = (tongue * smoothstep((h_mid / self.max_gap - 0.2) / 0.4))[..., None]
        cavity = cavity + (TONGUE * (0.7 + 0.3 * depth) - cavity) * 0.75 * tongue
        cavity = cavity * (0.5 + 0.5 * centre)
        feather = 0.7 * u  # as soft as the zoomed photo's own edges
        a_teeth = np.clip((top + teeth_h - gy) / feather + 0.5, 0, 1)[..., None]
        inner = tooth * a_teeth + cavity * (1 - a_teeth)
        feather = feather * (1 + 3 * np.abs(t) ** 6)  # soft ends where the lips part at the corners
        edge = np.minimum(gy - top, top + h - gy) / feather + 0.5
        a_gap = (np.clip(edge, 0, 1) * np.clip(h / feather, 0, 1))[..., None]
        # The lips' inner rims are shaded by the open mouth; where the lips meet, a soft crease.
        outside = np.maximum(np.maximum(top - gy, gy - top - h), 0)
        rim = np.exp(-outside / (0.9 * u)) * np.clip(h / (3 * u), 0, 1) * centre[..., 0]
        seam = np.exp(-(((gy - top - 0.5 * h) / (0.7 * u)) ** 2)) * np.clip(1.1 - t * t, 0, 1)
        shade = 1 - 0.25 * rim - 0.28 * seam / (1 + h / (1.5 * u))
        out = lips * shade[..., None] * (1 - a_gap) + inner * a_gap
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def centre(self, h_mid: float, width: float) -> tuple[float, float]:
        """Canvas position of the middle of the inner-lip gap for a centre gap `h_mid`."""
        rise = 0.22 + 0.25 * max(-width, 0.0)
        return self.xm, self.edge_mid + (0.5 - rise) * h_mid


class EyeRig:
    """Closes one eye by stretching the upper-lid skin down over it."""

    def __init__(self, p: Portrait, spec: EyeSpec) -> None:
        u = p.scale
        (ox, oy), (ix, iy) = p.point(spec.outer), p.point(spec.inner)
        x0, x1 = min(ox, ix) - 2 * u, max(ox, ix) + 2 * u
        y_top = min(oy, iy) - (spec.lid_up + spec.skin + 2) * u
        y_bot = max(oy, iy) + (spec.lid_low + 2) * u
        box = (int(x0), int(y_top), int(np.ceil(x1)), int(np.ceil(y_bot)))
        self.roi = (slice(box[1], box[3]), slice(box[0], box[2]))
        self.gx, self.gy = _grid(*box)
        t = (self.gx - (ox + ix) / 2) / (abs(ix - ox) / 2)
        bulge = np.clip(1 - t * t, 0, 1)
        line = oy + (iy - oy) * (self.gx - ox) / (ix - ox)  # corner to corner
        self.upper = line - spec.lid_up * u * bulge  # upper-lid margin
        self.lower = line + spec.lid_low * u * bulge
        self.skin_top = self.upper - spec.skin * u
        self.lash = 2.2 * u  # lash band above the margin: moves down whole, not stretched
        self.unit = u

    def render(self, src: Array, dst: Array, blink: float) -> None:
        """Draw the eye `blink` closed (0 open .. 1 shut) from canvas `src` into frame `dst`."""
        if blink <= 0.01:
            dst[self.roi] = src[self.roi]
            return
        gy, top, up = self.gy, self.skin_top, self.upper
        # The closed lid reaches just past the lower lid's margin so no white shows.
        margin = up + blink * (self.lower - up + 0.3 * self.unit)
        lash = self.lash / (1 + 0.6 * blink)  # lashes turn down: a thinner dark line
        knee = margin - lash
        stretch = (up - self.lash - top) / np.maximum(knee - top, 1e-3)
        qy = np.where(gy >= knee, up - (margin - gy) * self.lash / lash, top + (gy - top) * stretch)
        qy = np.where(gy < top, gy, qy).astype(np.float32)
        lid = cv2.remap(src, self.gx, qy, cv2.INTER_LINEAR).astype(np.float32)
        # Stretched lid skin would show streaks of lashes and crease: smooth it, keeping the
        # lash line sharp and the skin above the lid untouched.
        u = self.unit
        soft = cv2.GaussianBlur(lid, (0, 0), sigmaX=1.5 * u, sigmaY=0.6 * u)
        w = smoothstep((knee - gy) / u) * smoothstep((gy - top) / (1.5 * u)) * min(1.0, 2 * blink)
        above = cv2.remap(src, self.gx, (top - u).astype(np.float32), cv2.INTER_LINEAR)
        skin = cv2.GaussianBlur(above.astype(np.float32), (0, 0), 2 * u)  # brow-lid skin tone
        lid += (soft + 0.4 * (skin - soft) - lid) * w[..., None]
        alpha = np.clip(margin - gy + 0.5, 0, 1)[..., None]
        eye = src[self.roi].astype(np.float32)
        dst[self.roi] = np.clip(lid * alpha + eye * (1 - alpha) + 0.5, 0, 255).astype(np.uint8)


class HeadRig:
    """Moves the head (translation, roll about the neck, scale) over still shoulders."""

    def __init__(self, p: Portrait, step: int = 4) -> None:
        w, h = p.width, p.height
        self.size = (w, h)
        self.pivot = p.point(NECK_PIVOT)
        lw, lh = -(-w // step), -(-h // step)
        # Low-resolution sample points placed where cv2.resize puts them when upsampling.
        xs = (np.arange(lw, dtype=np.float32) + 0.5) * (w / lw) - 0.5
        ys = (np.arange(lh, dtype=np.float32) + 0.5) * (h / lh) - 0.5
        self.lx, self.ly = np.meshgrid(xs, ys)
        cx, cy = p.point(HEAD_CENTRE)
        r = np.hypot(
            (self.lx - cx) / (HEAD_RADII[0] * p.scale), (self.ly - cy) / (HEAD_RADII[1] * p.scale)
        )
        self.weight = (1 - smoothstep((r - 1.0) / 0.6)).astype(np.float32)
        self.fx, self.fy = _grid(0, 0, w, h)

    def maps(self, dx: float, dy: float, roll_deg: float, scale: float) -> tuple[Array, Array]:
        """Backward maps (H, W) float32 for cv2.remap of the whole frame."""
        c, s = float(np.cos(np.radians(roll_deg))), float(np.sin(np.radians(roll_deg)))
        px, py = self.pivot
        rx, ry = self.lx - px - dx, self.ly - py - dy
        sx = px + (c * rx + s * ry) / scale  # inverse rotation and scale
        sy = py + (-s * rx + c * ry) / scale
        dxs = cv2.resize(self.weight * (sx - self.lx), self.size, interpolation=cv2.INTER_LINEAR)
        dys = cv2.resize(self.weight * (sy - self.ly), self.size, interpolation=cv2.INTER_LINEAR)
        return self.fx + dxs, self.fy + dys

    def forward(
        self, xy: tuple[float, float], dx: float, dy: float, roll_deg: float, scale: float
    ) -> tuple[float, float]:
        """Where a canvas point on the face lands in the output frame."""
        c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
        px, py = self.pivot
        rx, ry = xy[0] - px, xy[1] - py
        return (
            float(px + scale * (c * rx - s * ry) + dx),
            float(py + scale * (s * rx + c * ry) + dy),
        )
