"""Files between steps: Power Automate's shape ``{"name", "contentBytes" (base64),
"contentType"}``, which Outlook attachments, Excel workbooks and SharePoint files share,
and the rule for a file's name."""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import unicodedata
from dataclasses import dataclass
from typing import Any

from automate.connectors.base import ActionError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_NAME_LENGTH = 255
OCTET_STREAM = "application/octet-stream"
# Characters SharePoint refuses in file and folder names; "/" separates them.
FORBIDDEN_NAME_CHARACTERS = frozenset('"*:<>?/\\|')


@dataclass(frozen=True)
class FileContent:
    name: str
    data: bytes
    content_type: str

    def as_dict(self) -> dict:
        """Power Automate's file shape: what attachments and "create file" accept."""
        return {
            "name": self.name,
            "contentBytes": base64.b64encode(self.data).decode("ascii"),
            "contentType": self.content_type,
        }


def is_file_dict(value: Any) -> bool:
    return isinstance(value, dict) and any(
        k in value for k in ("contentBytes", "ContentBytes", "$content")
    )


def file_from_dict(
    value: Any, *, what: str = "The file", max_bytes: int = MAX_FILE_BYTES
) -> FileContent:
    """A file from ``{"name", "contentBytes", "contentType"}`` (Outlook's capitalised keys
    and the HTTP connector's ``$content`` too), decoded and size-checked."""
    if not is_file_dict(value):
        raise ActionError(
            f'{what} must be a file: {{"name": ..., "contentBytes": <base64>}}, such as the '
            "body of Excel's Create workbook or SharePoint's Get file content."
        )
    name = value.get("name") or value.get("Name") or ""
    encoded = value.get("contentBytes") or value.get("ContentBytes") or value.get("$content")
    content_type = (
        value.get("contentType") or value.get("ContentType") or value.get("$content-type") or ""
    )
    if not isinstance(encoded, str):
        raise ActionError(f"{what} has no contentBytes.")
    # Base64 grows data by a third: refuse oversized files before decoding them.
    if len(encoded) > (max_bytes * 4) // 3 + 4:
        raise ActionError(f"{what} is larger than {megabytes(max_bytes)}.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ActionError(f"{what}'s contentBytes is not valid base64.") from None
    if len(data) > max_bytes:
        raise ActionError(f"{what} is larger than {megabytes(max_bytes)}.")
    name = clean_name(str(name), what=f"{what}'s name") if name else ""
    return FileContent(name=name, data=data, content_type=str(content_type) or guess_type(name))


def content_from_input(value: Any, *, name: str) -> FileContent:
    """File content as a step gives it: a file, text, or any other JSON value."""
    if value is None:
        raise ActionError("Give the file content.")
    if is_file_dict(value):
        file = file_from_dict(value, what="The file content")
        return FileContent(name=name, data=file.data, content_type=file.content_type)
    if isinstance(value, str):
        data = value.encode()
        content_type = guess_type(name, default="text/plain")
    else:
        data = json.dumps(value, ensure_ascii=False, indent=2).encode()
        content_type = "application/json"
    if len(data) > MAX_FILE_BYTES:
        raise ActionError(f"The file content is larger than {megabytes(MAX_FILE_BYTES)}.")
    return FileContent(name=name, data=data, content_type=content_type)


def clean_name(
    value: Any, *, what: str = "The file name", max_length: int = MAX_NAME_LENGTH
) -> str:
    """One file or folder name: no separators, no control or reserved characters."""
    if not isinstance(value, str) or not value.strip():
        raise ActionError(f"{what} is empty.")
    name = unicodedata.normalize("NFC", value.strip())
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ActionError(f"{what} may not contain control characters.")
    if "\\" in name:
        raise ActionError(f"{what} may not contain backslashes.")
    if name in (".", ".."):
        raise ActionError(f"{what} may not be {name!r}.")
    forbidden = sorted(set(name) & FORBIDDEN_NAME_CHARACTERS)
    if forbidden:
        raise ActionError(f"{what} {name!r} may not contain {' '.join(forbidden)}.")
    if len(name) > max_length:
        raise ActionError(f"{what} is longer than {max_length} characters.")
    return name


def guess_type(name: str, default: str = OCTET_STREAM) -> str:
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    return guessed or default


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
