"""Encodings that flows need for URLs and attachments."""

import base64 as b64
import binascii
from typing import Any
from urllib.parse import quote, unquote

from automate.expressions.functions.registry import function
from automate.expressions.runtime import CallSite
from automate.expressions.values import to_text

# .NET's Uri.EscapeDataString leaves only RFC 3986's unreserved characters as they are.
_UNRESERVED = "-_.~"


@function("encodeUriComponent", 1, builds=True, scans=True)
def encode_uri_component(site: CallSite, value: Any) -> str:
    return quote(to_text(value), safe=_UNRESERVED)


@function("uriComponent", 1, builds=True, scans=True)
def uri_component(site: CallSite, value: Any) -> str:
    return encode_uri_component(site, value)


@function("decodeUriComponent", 1, scans=True)
def decode_uri_component(site: CallSite, value: Any) -> str:
    return unquote(site.text(value, 0))


@function("uriComponentToString", 1, scans=True)
def uri_component_to_string(site: CallSite, value: Any) -> str:
    return decode_uri_component(site, value)


@function("base64", 1, builds=True, scans=True)
def base64(site: CallSite, value: Any) -> str:
    data = to_text(value).encode("utf-8")
    site.ensure_fits((len(data) + 2) // 3 * 4)
    return b64.b64encode(data).decode("ascii")


@function("base64ToString", 1, scans=True)
def base64_to_string(site: CallSite, value: Any) -> str:
    text = site.text(value, 0)
    try:
        return b64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise site.fail("cannot decode the text: it is not base64 of UTF-8 text") from None
