"""Image decoding: every promised format and mode, EXIF orientation, and hostile input."""

from __future__ import annotations

import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from faceapi.engine.decode import MAX_JPEG_SCANS, ImageLimits, decode_image
from faceapi.errors import ErrorCode, FaceApiError
from tests.conftest import encode, progressive_jpeg

LIMITS = ImageLimits()
LOSSLESS = {"PNG", "WEBP", "BMP", "TIFF"}


def decode_error(data: bytes, limits: ImageLimits = LIMITS) -> ErrorCode:
    with pytest.raises(FaceApiError) as caught:
        decode_image(data, limits)
    return caught.value.code


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
        ("GIF", {}),
        ("TIFF", {}),
    ],
)
def test_supported_formats_decode_to_rgb(astronaut: np.ndarray, fmt: str, options: dict) -> None:
    decoded = decode_image(encode(astronaut, fmt, **options), LIMITS).pixels
    assert decoded.shape == astronaut.shape
    assert decoded.dtype == np.uint8
    if fmt in LOSSLESS:
        assert (decoded == astronaut).all()
    else:  # JPEG's compression and GIF's 256-colour palette stay close to the original
        assert np.abs(decoded.astype(int) - astronaut).mean() < 10


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "LA", "RGBA", "1"])
def test_image_modes_become_rgb(astronaut: np.ndarray, mode: str) -> None:
    picture = Image.fromarray(astronaut).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "1" else "PNG"
    decoded = decode_image(encode(picture, fmt), LIMITS).pixels
    assert decoded.shape == astronaut.shape


def test_transparent_pixels_are_shown_on_white(astronaut: np.ndarray) -> None:
    rgba = np.dstack([astronaut, np.zeros(astronaut.shape[:2], np.uint8)])
    rgba[:, :256, 3] = 255  # left half opaque, right half fully transparent
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"), LIMITS).pixels
    assert (decoded[:, 256:] == 255).all()
    assert (decoded[:, :256] == astronaut[:, :256]).all()


def test_sixteen_bit_grey_keeps_its_contrast(astronaut: np.ndarray) -> None:
    grey = np.asarray(Image.fromarray(astronaut).convert("L"), dtype=np.uint16) * 257
    decoded = decode_image(encode(Image.fromarray(grey), "PNG"), LIMITS).pixels
    expected = np.asarray(Image.fromarray(astronaut).convert("L"))
    assert np.abs(decoded[..., 0].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("top", [1.0, 255.0, 65535.0])
def test_float_grey_keeps_its_contrast_in_each_usual_range(
    astronaut: np.ndarray, top: float
) -> None:
    """Float TIFFs, as scientific cameras write them, are mostly 0..1: clipped, all black."""
    expected = np.asarray(Image.fromarray(astronaut).convert("L"))
    grey = expected.astype(np.float32) / 255 * top
    grey[0, :3] = [np.nan, np.inf, -np.inf]
    decoded = decode_image(encode(Image.fromarray(grey, "F"), "TIFF"), LIMITS).pixels
    assert np.abs(decoded[1:, ..., 0].astype(int) - expected[1:]).max() <= 1


def test_gif_uses_the_first_frame(astronaut: np.ndarray) -> None:
    frames = [Image.fromarray(astronaut), Image.new("RGB", (512, 512), "black")]
    animated = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(animated, LIMITS).pixels.mean() > 50  # not the black second frame


@pytest.mark.parametrize(("orientation", "undo"), [(3, 2), (6, 1), (8, 3)])
def test_exif_orientation_is_applied(astronaut: np.ndarray, orientation: int, undo: int) -> None:
    """A phone stores pixels sideways plus a tag; decoding must give the upright picture."""
    stored = np.rot90(astronaut, k=undo)  # the pixels as the camera stored them
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = decode_image(encode(Image.fromarray(stored), "PNG", exif=exif), LIMITS).pixels
    assert (decoded == astronaut).all()


@pytest.mark.parametrize(
    ("fmt", "size", "decoded_size"),
    [
        ("JPEG", (8200, 3000), (2050, 750)),  # libjpeg decodes at 1/4
        ("JPEG", (6000, 3000), (3000, 1500)),  # at 1/2
        ("JPEG", (4032, 3024), (4032, 3024)),  # a phone photo stays as it is
        ("PNG", (6200, 600), (2067, 200)),  # 1/3 after decoding, the last column partial
    ],
)
def test_very_large_images_are_reduced_while_decoding(
    astronaut: np.ndarray, fmt: str, size: tuple[int, int], decoded_size: tuple[int, int]
) -> None:
    picture = Image.fromarray(astronaut).resize(size)
    decoded = decode_image(encode(picture, fmt), LIMITS)
    assert decoded.pixels.shape == (decoded_size[1], decoded_size[0], 3)
    assert decoded.scale == pytest.approx(decoded_size[0] / size[0])
    expected = np.asarray(picture.resize(decoded_size), dtype=np.float32)
    assert np.abs(decoded.pixels - expected).mean() < 4  # the same picture, smaller


@pytest.mark.parametrize("mode", ["P", "PA", "1", "I;16", "F", "LA", "RGBA"])
def test_reduced_images_keep_their_look_in_every_mode(astronaut: np.ndarray, mode: str) -> None:
    """Palette indices, 1-bit and 16-bit pixels cannot be averaged as they are stored."""
    small = Image.fromarray(astronaut[:100])  # 512 x 100
    if mode == "I;16":
        picture = Image.fromarray(np.asarray(small.convert("L"), dtype=np.uint16) * 257)
    elif mode == "F":
        picture = Image.fromarray(np.asarray(small.convert("L"), dtype=np.float32) / 255, "F")
    elif mode == "PA":
        picture = small.convert("RGBA").convert("PA")
    else:
        picture = small.convert(mode)
    fmt = "TIFF" if mode in ("1", "PA", "F") else "PNG"
    options = {"compression": "tiff_adobe_deflate"} if fmt == "TIFF" else {}
    reference = decode_image(encode(picture, fmt, **options), LIMITS).pixels  # not reduced
    large = picture.resize((5120, 1000), Image.Resampling.NEAREST)  # 10 x, to 1/2 of that
    decoded = decode_image(encode(large, fmt, **options), LIMITS).pixels
    assert decoded.shape == (500, 2560, 3)
    # Every source pixel became a 10 x 10 block, so one in 5 x 5 of the decoded pixels is it.
    shrunk = decoded[2::5, 2::5].astype(int)
    assert np.abs(shrunk - reference).max() <= 1


def test_empty_and_garbage_input() -> None:
    assert decode_error(b"") is ErrorCode.EMPTY_IMAGE
    assert decode_error(np.random.default_rng(0).bytes(5000)) is ErrorCode.UNSUPPORTED_IMAGE_FORMAT
    assert decode_error(b"%PDF-1.7\n" + b"0" * 100) is ErrorCode.UNSUPPORTED_IMAGE_FORMAT


def test_truncated_jpeg_is_reported_as_damaged(
    astronaut: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    whole = encode(astronaut)
    with caplog.at_level(logging.DEBUG, logger="faceapi.engine"):
        assert decode_error(whole[: len(whole) // 2]) is ErrorCode.CORRUPT_IMAGE
    (record,) = caplog.records  # at debug level, what Pillow raised, by type only
    assert (record.format, record.error) == ("JPEG", "OSError")  # type: ignore[attr-defined]


def test_a_jpeg_of_endless_scans_is_refused_before_decoding(astronaut: np.ndarray) -> None:
    """Each progressive scan is a pass over the whole image; a small file can repeat one
    scan thousands of times (a 200 KB one of 1,000 scans took 36 s to decode)."""
    ordinary = encode(astronaut, progressive=True)  # about 10 scans
    for fine in (ordinary, progressive_jpeg(astronaut, MAX_JPEG_SCANS)):
        assert decode_image(fine, LIMITS).pixels.shape == astronaut.shape
    with pytest.raises(FaceApiError) as refused:
        decode_image(progressive_jpeg(astronaut, MAX_JPEG_SCANS + 1), LIMITS)
    assert refused.value.code == ErrorCode.IMAGE_TOO_MANY_SCANS
    assert "101 progressive scans; at most 100" in refused.value.message


def test_scan_markers_outside_the_image_s_scans_do_not_count(astronaut: np.ndarray) -> None:
    """Counted in the whole file, a phone's motion photo (a video after the image) or a
    maker note of random bytes was refused as having hundreds of scans."""
    markers = b"\xff\xda" * 300
    application_segment = b"\xff\xe9" + (len(markers) + 2).to_bytes(2, "big") + markers
    for progressive in (False, True):
        jpeg = encode(astronaut, progressive=progressive)
        for file in (jpeg + markers, jpeg[:2] + application_segment + jpeg[2:]):
            assert decode_image(file, LIMITS).pixels.shape == astronaut.shape


def test_running_out_of_memory_is_not_blamed_on_the_file(
    astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(_image: ImageFile.ImageFile) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", exhausted)
    with pytest.raises(MemoryError):
        decode_image(encode(astronaut, "PNG"), LIMITS)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_a_supported_format_cut_inside_its_header_is_damaged_not_unsupported(
    astronaut: np.ndarray, fmt: str
) -> None:
    with pytest.raises(FaceApiError) as caught:
        decode_image(encode(astronaut, fmt)[:14], LIMITS)
    assert caught.value.code is ErrorCode.CORRUPT_IMAGE
    shown = "WebP" if fmt == "WEBP" else fmt  # as the README and the 2004 message write it
    assert caught.value.message.startswith(f"The {shown} image could not be decoded")


def test_a_tiff_that_breaks_pillow_outside_its_usual_errors_is_reported_as_damaged() -> None:
    """Pillow raises TypeError when StripOffsets (tag 273) claims to be text, not numbers."""
    tiff = bytearray(encode(np.zeros((64, 64, 3), np.uint8), "TIFF"))
    (ifd,) = struct.unpack_from("<I", tiff, 4)
    (entries,) = struct.unpack_from("<H", tiff, ifd)
    for entry in range(ifd + 2, ifd + 2 + 12 * entries, 12):
        if struct.unpack_from("<H", tiff, entry)[0] == 273:
            struct.pack_into("<H", tiff, entry + 2, 2)  # field type 2 is ASCII
    assert decode_error(bytes(tiff)) is ErrorCode.CORRUPT_IMAGE


def test_a_hostile_tiff_is_damaged_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Pillow logs "More samples per pixel than can be decoded" at error level by itself."""
    tiff = bytearray(encode(Image.new("RGB", (8, 8)), "TIFF"))
    samples_per_pixel = tiff.index(struct.pack("<HHIH", 277, 3, 1, 3))  # tag, SHORT, 1, 3
    tiff[samples_per_pixel + 8 : samples_per_pixel + 10] = struct.pack("<H", 65283)
    with caplog.at_level(logging.DEBUG), pytest.raises(FaceApiError) as raised:
        decode_image(bytes(tiff), LIMITS)
    assert raised.value.code == ErrorCode.CORRUPT_IMAGE
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_unsupported_but_decodable_format_is_refused(astronaut: np.ndarray) -> None:
    assert decode_error(encode(astronaut, "PPM")) is ErrorCode.UNSUPPORTED_IMAGE_FORMAT


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb's calling card."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_pixel_limit_is_checked_from_the_header() -> None:
    assert decode_error(png_claiming(50_000, 50_000)) is ErrorCode.IMAGE_TOO_MANY_PIXELS


def test_byte_and_size_limits(astronaut: np.ndarray) -> None:
    data = encode(astronaut)
    assert decode_error(data, ImageLimits(max_bytes=len(data) - 1)) is ErrorCode.IMAGE_TOO_LARGE
    tiny = encode(astronaut[:20, :200])
    assert decode_error(tiny) is ErrorCode.IMAGE_TOO_SMALL


def test_error_messages_name_the_numbers() -> None:
    with pytest.raises(FaceApiError) as caught:
        decode_image(png_claiming(50_000, 50_000), LIMITS)
    assert "50000x50000" in caught.value.message
    assert str(LIMITS.max_pixels) in caught.value.message
