"""Image bytes to an upright 8-bit RGB array, refusing hostile input before it costs anything."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from faceapi.errors import ErrorCode, FaceApiError

# Pillow opens more formats than we promise; anything else is refused as unsupported.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"})
# Modes holding more than 8 bits per sample; Pillow's convert("RGB") would clip them.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})

# How each supported format's files begin (WebP, inside a RIFF header, is checked apart).
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)

# We enforce our own pixel limit from the header; Pillow's warning would only add noise.
Image.MAX_IMAGE_PIXELS = None
# Pillow warns about a client's file (e.g. "Corrupt EXIF data"): harmless, and not ours to fix.
# Set once, since `warnings.catch_warnings` is not thread-safe and decoding runs on threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What the service accepts; the defaults suit phone photos and group shots."""

    max_bytes: int = 11_000_000
    max_pixels: int = 40_000_000
    min_side: int = 32


def decode_image(data: bytes, limits: ImageLimits) -> NDArray[np.uint8]:
    """Decode `data` into an H x W x 3 uint8 RGB array, EXIF orientation applied."""
    if not data:
        raise FaceApiError(ErrorCode.EMPTY_IMAGE)
    if len(data) > limits.max_bytes:
        raise FaceApiError(ErrorCode.IMAGE_TOO_LARGE, size=len(data), limit=limits.max_bytes)
    image = _open(data)
    _check_dimensions(image, limits)
    try:
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image))
    except Exception as error:  # a hostile file can make Pillow raise almost anything
        raise FaceApiError(ErrorCode.CORRUPT_IMAGE, format=image.format) from error


def _open(data: bytes) -> Image.Image:
    """Read only the header: format and size are known before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as error:  # UnidentifiedImageError, or a header that breaks a plugin
        claimed = _claimed_format(data)
        if claimed is not None:  # a supported format's signature, then a broken header
            raise FaceApiError(ErrorCode.CORRUPT_IMAGE, format=claimed) from error
        raise FaceApiError(ErrorCode.UNSUPPORTED_IMAGE_FORMAT) from error
    if image.format not in SUPPORTED_FORMATS:
        raise FaceApiError(ErrorCode.UNSUPPORTED_IMAGE_FORMAT)
    return image


def _claimed_format(data: bytes) -> str | None:
    """The supported format whose signature `data` starts with, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)


def _check_dimensions(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise FaceApiError(
            ErrorCode.IMAGE_TOO_MANY_PIXELS, width=width, height=height, limit=limits.max_pixels
        )
    if min(width, height) < limits.min_side:
        raise FaceApiError(
            ErrorCode.IMAGE_TOO_SMALL, width=width, height=height, minimum=limits.min_side
        )


def _to_rgb(image: Image.Image) -> NDArray[np.uint8]:
    if image.mode in _WIDE_GREY_MODES:
        return _wide_grey_to_rgb(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return _flatten_alpha(image)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _wide_grey_to_rgb(image: Image.Image) -> NDArray[np.uint8]:
    """Scale 16- or 32-bit grey to 8 bits by its own range; most such files use 0..65535."""
    grey = np.asarray(image, dtype=np.float64)
    top = 65535.0 if grey.max(initial=0.0) > 255 else 255.0
    scaled = np.clip(grey / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(scaled[..., None], 3, axis=2))


def _flatten_alpha(image: Image.Image) -> NDArray[np.uint8]:
    """Composite transparent pixels onto white, as a viewer would show them."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
