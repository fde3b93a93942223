"""XML from the internet, checked before any parser that could be tricked sees it.

WeChat never sends a DTD or an entity declaration, so a body carrying one is
an attack (XXE, billion laughs) and is refused at once, before expansion,
with a 400. The size is capped first, so nothing large is even scanned.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.errors import ApiError

# A cheap look before parsing: declarations WeChat never uses.
FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def parse_xml(raw: bytes, max_bytes: int) -> Element:
    """The root element of a small, declaration-free XML document; 413/400 otherwise."""
    if len(raw) > max_bytes:
        raise ApiError(413, "payload_too_large", "请求内容太大")
    if FORBIDDEN.search(raw):
        raise ApiError(400, "xml_forbidden", "XML 中不允许 DTD 或实体声明")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ApiError(400, "xml_forbidden", "XML 中不允许 DTD 或实体声明") from exc
    except (ParseError, ValueError) as exc:
        raise ApiError(400, "invalid_xml", "请求体不是合法的 XML") from exc
    if root.tag != "xml":
        raise ApiError(400, "invalid_xml", "请求体不是微信消息格式")
    return root
