"""Decoding what strangers' messages declare: text in a declared (or wrong) charset, attachment
file names made safe to save, and the `email` package's defects in words a user understands.

Pure helpers of the MIME renderer (apps/mail/mime.py).
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from email import errors as email_errors

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.mail.addresses import decode_bytes

_SINGLE_BYTE_WESTERN = frozenset(
    {"us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "iso-8859-15", "windows-1252", "cp1252"}
)
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_filename(name: str, *, content_type: str = "application/octet-stream", fallback: str = "attachment") -> str:
    """A download name that cannot climb directories, hide, or spoof its extension with controls."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") and ch not in '<>:"|?*'
    )
    name = " ".join(name.split()).strip(" .")
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    if not name:
        extension = mimetypes.guess_extension(content_type) or ""
        name = f"{fallback}{extension}"
    if len(name.encode("utf-8")) > 200:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:20] if dot and stem else ""
        stem = (stem if dot else name).encode("utf-8")[: 200 - len(extension) - 1].decode("utf-8", "ignore")
        name = f"{stem}.{extension}" if extension else stem
    return name


def _decode_text(data: bytes, charset: str | None, errors: list[str]) -> str:
    charset = (charset or "").strip().lower() or None
    if charset in _SINGLE_BYTE_WESTERN and any(b > 0x7F for b in data):
        # Mislabelled UTF-8 is far more common than Latin-1 text that happens to be valid UTF-8.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if charset:
        try:
            return data.decode(charset)
        except LookupError:
            errors.append(
                _("Unknown character set “%(charset)s”; the text was decoded as well as possible.")
                % {"charset": charset}
            )
        except (UnicodeDecodeError, ValueError):
            errors.append(_("The text does not match its declared character set “%(charset)s”.") % {"charset": charset})
    return decode_bytes(data)


_DEFECT_MESSAGES: dict[type[email_errors.MessageDefect], str] = {
    email_errors.StartBoundaryNotFoundDefect: gettext_noop(
        "The message declares several parts but their boundary was not found; it is shown as one text."
    ),
    email_errors.CloseBoundaryNotFoundDefect: gettext_noop(
        "The message ends without its final boundary; the last part may be incomplete."
    ),
    email_errors.NoBoundaryInMultipartDefect: gettext_noop("A multipart part has no boundary; it is shown as text."),
    email_errors.MultipartInvariantViolationDefect: gettext_noop("A part announced as multipart has no parts."),
    email_errors.InvalidBase64PaddingDefect: gettext_noop(
        "A part's base64 encoding is damaged; it was decoded as far as possible."
    ),
    email_errors.InvalidBase64CharactersDefect: gettext_noop(
        "A part's base64 encoding is damaged; it was decoded as far as possible."
    ),
    email_errors.InvalidBase64LengthDefect: gettext_noop(
        "A part's base64 encoding is damaged; it was decoded as far as possible."
    ),
    email_errors.MissingHeaderBodySeparatorDefect: gettext_noop(
        "A header line is malformed; what follows it was read as the body."
    ),
    email_errors.FirstHeaderLineIsContinuationDefect: gettext_noop("The header block starts with a malformed line."),
    email_errors.MisplacedEnvelopeHeaderDefect: gettext_noop("The header block contains a misplaced envelope line."),
}


def _defect_message(defect: email_errors.MessageDefect) -> str:
    for kind, message in _DEFECT_MESSAGES.items():
        if isinstance(defect, kind):
            return _(message)
    return _("Malformed message structure (%(defect)s).") % {"defect": type(defect).__name__}
