"""sRGB uint8 <-> OKLab conversion, vectorised.

OKLab (Björn Ottosson, 2020) is a perceptual colour space where Euclidean
distance tracks perceived difference far better than RGB, which is why palette
matching, background tolerance and palette learning all measure distance here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["oklab_distance", "oklab_to_srgb", "srgb_to_oklab"]

# Linear sRGB -> LMS and LMS' -> Lab matrices from Ottosson's reference
# implementation (https://bottosson.github.io/posts/oklab/).
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ],
    dtype=np.float64,
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ],
    dtype=np.float64,
)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1.0 / 2.4) - 0.055)


# uint8 -> linear light is a 256-entry table: a lookup is several times faster
# than evaluating the transfer curve per pixel.
_LINEAR_LUT = _srgb_decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
_RGB_TO_LMS_T32 = _RGB_TO_LMS.T.astype(np.float32)
_LMS_TO_LAB_T32 = _LMS_TO_LAB.T.astype(np.float32)


def _check_rgb_uint8(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"expected dtype uint8, got {rgb.dtype}")
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"expected shape (..., 3), got {rgb.shape}")


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB ``uint8`` colours of shape (..., 3) to OKLab ``float32`` (..., 3).

    L is in [0, 1]; a and b are roughly in [-0.4, 0.4].
    """
    _check_rgb_uint8(rgb)
    linear = _LINEAR_LUT[rgb]
    lms = linear @ _RGB_TO_LMS_T32
    np.cbrt(lms, out=lms)
    return lms @ _LMS_TO_LAB_T32


def oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Convert OKLab floats of shape (..., 3) to sRGB ``uint8`` (rounded, gamut-clipped)."""
    if not isinstance(lab, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(lab).__name__}")
    if lab.dtype.kind != "f":
        raise TypeError(f"expected a float array, got {lab.dtype}")
    if lab.ndim < 1 or lab.shape[-1] != 3:
        raise ValueError(f"expected shape (..., 3), got {lab.shape}")
    lms = lab.astype(np.float64) @ _LAB_TO_LMS.T
    linear = (lms**3) @ _LMS_TO_RGB.T
    encoded = _srgb_encode(linear)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)


def oklab_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between OKLab colours, broadcasting over leading axes."""
    diff = np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)
    return np.sqrt(np.sum(diff * diff, axis=-1))
