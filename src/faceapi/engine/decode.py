"""Image bytes to an upright 8-bit RGB array, refusing hostile input before it costs anything."""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from faceapi.errors import ErrorCode, FaceApiError

# Pillow opens more formats than we promise; anything else is refused as unsupported.
# Pillow's name of each format read, and the name messages give it (MPO is a JPEG file).
SUPPORTED_FORMATS = {
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "PNG": "PNG",
    "WEBP": "WebP",
    "BMP": "BMP",
    "GIF": "GIF",
    "TIFF": "TIFF",
}
# Grey modes holding more than 8 bits per sample, integer or float ("F", as in scientific
# TIFFs, mostly 0..1); Pillow's convert("RGB") would clip them, a 0..1 image to black.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

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
# Pillow also logs what it makes of a hostile file, some at error level ("More samples per
# pixel than can be decoded"); the client gets 2005, and nothing failed on our side.
logging.getLogger("PIL").setLevel(logging.CRITICAL)
log = logging.getLogger("faceapi.engine")


# The detector sees at most `detector_max_side` px (640 by default) and every model a face
# of 150 px or less, so pixels past a few thousand cost memory and time and add nothing: a
# file whose long side is over REDUCE_ABOVE is decoded at 1/2, 1/3, ... of its size, keeping
# at least REDUCED_SIDE. A 12-megapixel phone photo (4032 px) is left as it is.
REDUCE_ABOVE = 4096
REDUCED_SIDE = 2048

# libjpeg passes over the whole image once per scan of a progressive JPEG, and nothing else
# bounds their number: a 200 KB file repeating one scan 1,000 times took 36 s to decode.
# Encoders write about 10 (libjpeg's default progression); 100 scans of a 40-megapixel
# image decode in about 3.3 s.
MAX_JPEG_SCANS = 100
# A marker: FF, then a byte that is not 00, a restart (D0-D7) or a fill FF. Entropy-coded
# data holds FF only stuffed (FF 00) or in restart markers, so a search from a scan's data
# finds where the scan ends.
_JPEG_MARKER = re.compile(rb"\xff([^\x00\xd0-\xd7\xff])")
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What the service accepts; the defaults suit phone photos and group shots."""

    max_bytes: int = 11_000_000
    max_pixels: int = 40_000_000
    min_side: int = 32


@dataclass(frozen=True, slots=True)
class DecodedImage:
    pixels: NDArray[np.uint8]  # H x W x 3 RGB, upright
    scale: float  # pixels' size over the file's: below 1 when a very large image was reduced


def decode_image(data: bytes, limits: ImageLimits) -> DecodedImage:
    """Decode `data` into RGB pixels, EXIF orientation applied, very large images reduced."""
    if not data:
        raise FaceApiError(ErrorCode.EMPTY_IMAGE)
    if len(data) > limits.max_bytes:
        raise FaceApiError(ErrorCode.IMAGE_TOO_LARGE, size=len(data), limit=limits.max_bytes)
    image = _open(data)
    _check_dimensions(image, limits)
    if image.info.get("progressive") and (scans := _jpeg_scans(data)) > MAX_JPEG_SCANS:
        raise FaceApiError(ErrorCode.IMAGE_TOO_MANY_SCANS, scans=scans, limit=MAX_JPEG_SCANS)
    file_side = max(image.size)
    try:
        if image.format in ("JPEG", "MPO") and file_side > REDUCE_ABOVE:
            # libjpeg scales while decoding: the full-size image never exists in memory.
            factor = _reduction(file_side, powers_of_two=True)
            image.draft(image.mode, (image.width // factor, image.height // factor))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        if max(image.size) > REDUCE_ABOVE:
            image = _averageable(image).reduce(_reduction(max(image.size), powers_of_two=False))
        pixels = _to_rgb(image)
    except MemoryError:
        raise  # the server's trouble, not the file's
    except Exception as error:  # a hostile file can make Pillow raise almost anything
        # The exception's type only: enough to tell a fault of ours from a bad file.
        failure = {"format": image.format, "error": type(error).__name__}
        log.debug("image not decoded", extra=failure)
        raise _damaged(image.format) from error
    return DecodedImage(pixels, max(pixels.shape[:2]) / file_side)


def _jpeg_scans(data: bytes) -> int:
    """The scans of a JPEG's first image, up to one past the limit: its segments are skipped
    by their lengths, so bytes inside them (an EXIF thumbnail, a maker note) and whatever
    follows the end of the image (a motion photo's video) are never counted."""
    scans, position = 0, 2  # after the start-of-image marker
    while scans <= MAX_JPEG_SCANS and (found := _JPEG_MARKER.search(data, position)):
        marker, position = found.group(1)[0], found.end()
        if marker == _END_OF_IMAGE:
            break
        scans += marker == _START_OF_SCAN
        position += int.from_bytes(data[position : position + 2], "big")  # segment length
    return scans


def _reduction(side: int, *, powers_of_two: bool) -> int:
    """The largest whole factor (a power of two for JPEG's decoder) keeping REDUCED_SIDE."""
    factor = side // REDUCED_SIDE
    return 2 ** (factor.bit_length() - 1) if powers_of_two else factor


def _averageable(image: Image.Image) -> Image.Image:
    """The image in a mode whose pixels can be averaged: not palette indices, 1 or 16 bits."""
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in _WIDE_GREY_MODES - {"F"}:
        return image.convert("I")
    return image


def _open(data: bytes) -> Image.Image:
    """Read only the header: format and size are known before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as error:  # UnidentifiedImageError, or a header that breaks a plugin
        claimed = _claimed_format(data)
        if claimed is not None:  # a supported format's signature, then a broken header
            raise _damaged(claimed) from error
        raise FaceApiError(ErrorCode.UNSUPPORTED_IMAGE_FORMAT) from error
    if image.format not in SUPPORTED_FORMATS:
        raise FaceApiError(ErrorCode.UNSUPPORTED_IMAGE_FORMAT)
    return image


def _damaged(pillow_format: str) -> FaceApiError:
    return FaceApiError(ErrorCode.CORRUPT_IMAGE, format=SUPPORTED_FORMATS[pillow_format])


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
    """Scale 16- or 32-bit grey to 8 bits by the range it is likely written in: 0..1 (float),
    0..255 or 0..65535 (most integer files)."""
    grey = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    brightest = grey.max(initial=0.0)
    top = 65535.0 if brightest > 255 else 255.0 if brightest > 1 or image.mode != "F" else 1.0
    scaled = np.clip(grey / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(scaled[..., None], 3, axis=2))


def _flatten_alpha(image: Image.Image) -> NDArray[np.uint8]:
    """Composite transparent pixels onto white, as a viewer would show them."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
