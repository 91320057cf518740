"""Avatar images: an upload is checked with Pillow and redrawn as a square PNG.

The stored file is always our own re-encoding, never the uploaded bytes, so a
hostile file (a polyglot, an SVG, a script disguised as an image) is never served.
"""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

AVATAR_SIZE = 256  # pixels per side of the stored thumbnail
AVATAR_MAX_SIDE = 8000  # larger uploads are refused before decoding
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})


def avatar_png_from_upload(upload: UploadedFile) -> bytes:
    """Returns the PNG thumbnail of an uploaded image; ValidationError if it is not one we accept."""
    max_bytes: int = settings.RUCHE_AVATAR_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        raise ValidationError(
            _("The image is too large: at most %(size)s.") % {"size": filesizeformat(max_bytes)},
            code="too_large",
        )
    upload.seek(0)
    return square_thumbnail(upload.read(), size=AVATAR_SIZE, image_format="PNG")


def square_thumbnail(data: bytes, *, size: int, image_format: str = "PNG") -> bytes:
    """Our own square redraw of an image from a stranger (avatars, contact photos), or ValidationError.

    Only PNG, JPEG, GIF and WebP are read; a decompression bomb or an image over AVATAR_MAX_SIDE
    pixels a side is refused before decoding; the first frame is kept, EXIF rotation applied.
    """
    not_an_image = ValidationError(
        _("This file is not an image Ruche can read. Use a PNG, JPEG, GIF or WebP picture."),
        code="invalid_image",
    )
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning becomes an error: refuse, do not decode.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_an_image
                width, height = probe.size
                if width > AVATAR_MAX_SIDE or height > AVATAR_MAX_SIDE:
                    raise ValidationError(
                        _("The image is too large: at most %(side)s by %(side)s pixels.") % {"side": AVATAR_MAX_SIDE},
                        code="too_many_pixels",
                    )
                probe.verify()  # structural check; the image must be reopened after it
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)  # first frame of an animation
                upright = ImageOps.exif_transpose(image).convert("RGBA" if image_format == "PNG" else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise not_an_image from exc
    square = ImageOps.fit(upright, (size, size), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image_format == "PNG":
        square.save(out, format="PNG", optimize=True)
    else:
        square.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()
