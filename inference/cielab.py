"""CIELAB colour science for QC: the CIEDE2000 difference between two colours, and the Lab colour of a surface
after a global exposure gain (so a selfie's skin can be compared with a headshot at the headshot's exposure)."""
from __future__ import annotations

import math

# D65 reference white of sRGB in CIE XYZ (Y = 1), the white OpenCV's RGB->Lab conversion uses.
_WHITE = (0.950456, 1.0, 1.088754)


def exposure_adjusted_lab(lab: tuple[float, float, float], gain_ev: float) -> tuple[float, float, float]:
    """The CIELAB colour of a surface after a global exposure gain of gain_ev stops in linear light (X, Y, Z scale)."""
    if not gain_ev:
        return lab
    lightness, a, b = lab
    fy = (lightness + 16.0) / 116.0
    f = (fy + a / 500.0, fy, fy - b / 200.0)
    xyz = [(v ** 3 if v ** 3 > 0.008856 else (v - 16.0 / 116.0) / 7.787) * w for v, w in zip(f, _WHITE, strict=True)]
    gain = 2.0 ** gain_ev
    # Clipping at the white point: a gain can't make a surface brighter than white (the finisher's shoulder).
    scaled = [min(v * gain, w) for v, w in zip(xyz, _WHITE, strict=True)]
    g = [((v / w) ** (1.0 / 3.0) if v / w > 0.008856 else 7.787 * v / w + 16.0 / 116.0)
         for v, w in zip(scaled, _WHITE, strict=True)]
    return (116.0 * g[1] - 16.0, 500.0 * (g[0] - g[1]), 200.0 * (g[1] - g[2]))


def delta_e_ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), kL = kC = kH = 1."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - math.sqrt(c_mean7 / (c_mean7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360.0 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360.0 if c2p else 0.0
    dl = l2 - l1
    dc = c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        if dh > 180.0:
            dh -= 360.0
        elif dh < -180.0:
            dh += 360.0
    dhh = 2.0 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2.0))
    l_mean = (l1 + l2) / 2.0
    c_mean = (c1p + c2p) / 2.0
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180.0:
        h_mean = (h1p + h2p) / 2.0
    elif h1p + h2p < 360.0:
        h_mean = (h1p + h2p + 360.0) / 2.0
    else:
        h_mean = (h1p + h2p - 360.0) / 2.0
    t = (1.0 - 0.17 * math.cos(math.radians(h_mean - 30.0)) + 0.24 * math.cos(math.radians(2.0 * h_mean))
         + 0.32 * math.cos(math.radians(3.0 * h_mean + 6.0)) - 0.20 * math.cos(math.radians(4.0 * h_mean - 63.0)))
    d_theta = 30.0 * math.exp(-(((h_mean - 275.0) / 25.0) ** 2))
    c_mean7 = c_mean ** 7
    r_c = 2.0 * math.sqrt(c_mean7 / (c_mean7 + 25.0 ** 7))
    s_l = 1.0 + 0.015 * (l_mean - 50.0) ** 2 / math.sqrt(20.0 + (l_mean - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_mean
    s_h = 1.0 + 0.015 * c_mean * t
    r_t = -math.sin(math.radians(2.0 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h))
