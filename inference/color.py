"""Colour finishing of the subject: the brand's colour grade and a mild global tone curve per lighting preset."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .brand import ColorGrade

# White-balance shift at temperature = +-1: red and blue gains move by this much in opposite directions.
_TEMPERATURE_GAIN = 0.08
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ToneCurve:
    """A global curve only; the real relighting per preset is a later stage."""

    contrast: float = 1.0
    # Raises the black point (0..1): soft light has no true blacks.
    lift: float = 0.0
    # < 1 brightens mid-tones, > 1 darkens them.
    gamma: float = 1.0


LIGHTING_CURVES: dict[str, ToneCurve] = {
    "natural": ToneCurve(),
    "soft": ToneCurve(contrast=0.94, lift=0.02, gamma=0.97),
    "studio": ToneCurve(contrast=1.05, lift=0.0, gamma=0.98),
    "dramatic": ToneCurve(contrast=1.15, lift=0.0, gamma=1.04),
}


def grade_subject(rgb: np.ndarray, grade: ColorGrade, lighting: str) -> np.ndarray:
    """Graded copy of a uint8 RGB image; apply it to the person before compositing so the backdrop stays exact."""
    curve = LIGHTING_CURVES.get(lighting)
    if curve is None:
        raise ValueError(f"unknown lighting preset {lighting!r}; known: {', '.join(LIGHTING_CURVES)}")
    graded = cv2.LUT(np.ascontiguousarray(rgb), _channel_luts(grade, curve))
    if abs(grade.saturation - 1.0) > 1e-6:
        values = graded.astype(np.float32)
        luma = values @ _LUMA
        values = luma[..., None] + grade.saturation * (values - luma[..., None])
        graded = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return graded


def _channel_luts(grade: ColorGrade, curve: ToneCurve) -> np.ndarray:
    """One 256-entry table per channel: white balance, then the tone curve, then the brand contrast."""
    x = np.linspace(0.0, 1.0, 256)
    gains = (1.0 + _TEMPERATURE_GAIN * grade.temperature, 1.0, 1.0 - _TEMPERATURE_GAIN * grade.temperature)
    tables = []
    for gain in gains:
        y = np.clip(x * gain, 0.0, 1.0)
        y = np.clip(0.5 + (y - 0.5) * curve.contrast * grade.contrast, 0.0, 1.0)
        y = curve.lift + (1.0 - curve.lift) * y
        y = np.power(y, curve.gamma)
        tables.append(np.clip(np.rint(y * 255.0), 0, 255))
    return np.stack(tables, axis=-1).astype(np.uint8).reshape(256, 1, 3)
