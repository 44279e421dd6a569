"""The three image kinds the benchmark sends: a face crop, a one-face photo, a group photo."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from skimage import data as skimage_data

from faceapi.settings import REPOSITORY

DEFAULT_DATA_DIR = REPOSITORY.parent / "shared" / "data"
FACE_CROP = "utkface-dev/images/30_0_0_20170116232936514.jpg.chip.jpg"  # a 200-px adult face
GROUP_PHOTO = "photos/group1.jpg"  # 1920x1280, 3 faces
PHOTO_SIZE = (640, 480)
FACE_IN_PHOTO = 280  # pixels across, as a face in a portrait-style phone snapshot
BACKGROUND = (142, 146, 150)  # neutral grey, so no second face can appear
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class BenchImage:
    kind: str
    data: bytes  # the file as a client sends it
    width: int
    height: int
    source: str


def has_shared_images(data_dir: Path) -> bool:
    return (data_dir / FACE_CROP).is_file() and (data_dir / GROUP_PHOTO).is_file()


def bench_images(data_dir: Path) -> list[BenchImage]:
    """From the shared data where present, else built from scikit-image's astronaut."""
    crop_file, group_file = data_dir / FACE_CROP, data_dir / GROUP_PHOTO
    if has_shared_images(data_dir):
        face = Image.open(crop_file).convert("RGB")
        crop = _image("face-200", crop_file.read_bytes(), str(crop_file))
        group = _image("group-1920", group_file.read_bytes(), str(group_file))
        source = f"{crop_file.name} enlarged on a grey background"
    else:
        face = _astronaut_face()
        crop = _image("face-200", _jpeg(face), "skimage astronaut(), face cropped to 200 px")
        group = _image("group-1920", _jpeg(_astronaut_group()), "3 skimage astronauts, 1920 px")
        source = "skimage astronaut() face enlarged on a grey background"
    photo = _image("photo-640x480", _jpeg(_single_face_photo(face)), source)
    return [crop, photo, group]


def _single_face_photo(face: Image.Image) -> Image.Image:
    """The face enlarged and centred on a 640x480 grey frame, its edges feathered."""
    photo = Image.new("RGB", PHOTO_SIZE, BACKGROUND)
    side = FACE_IN_PHOTO
    enlarged = face.resize((side, side), Image.Resampling.LANCZOS)
    mask = Image.new("L", (side, side), 0)
    mask.paste(255, (12, 12, side - 12, side - 12))
    corner = ((PHOTO_SIZE[0] - side) // 2, (PHOTO_SIZE[1] - side) // 2)
    photo.paste(enlarged, corner, mask.filter(ImageFilter.GaussianBlur(6)))
    return photo


def _astronaut_face() -> Image.Image:
    square = skimage_data.astronaut()[10:250, 110:350]
    return Image.fromarray(np.ascontiguousarray(square)).resize((200, 200))


def _astronaut_group() -> Image.Image:
    group = Image.new("RGB", (1920, 1280), BACKGROUND)
    portrait = Image.fromarray(skimage_data.astronaut()).resize((600, 600))
    for i in range(3):
        group.paste(portrait, (30 + 630 * i, 340))
    return group


def _image(kind: str, data: bytes, source: str) -> BenchImage:
    with Image.open(io.BytesIO(data)) as opened:
        width, height = opened.size
    return BenchImage(kind, data, width, height, source)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
