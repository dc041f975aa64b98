"""The pages' shapes. JSON through JsonResponse (lists streamed, each entry by json.dumps); XML
built with ElementTree, which escapes every text (reason texts are written by strangers), in the
ISO-8859-1 the pages declare: characters outside it become character references, and characters
XML cannot carry at all (control characters) become U+FFFD, so the document always parses."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from .errors import LegacyError

ENCODING = "ISO-8859-1"
DECLARATION = f'<?xml version="1.0" encoding="{ENCODING}"?>\n\n'
CHUNK = 500  # rows a streamed piece holds
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _xml(root: ET.Element, status: int) -> HttpResponse:
    ET.indent(root, space="   ")
    body = DECLARATION.encode(ENCODING) + ET.tostring(root, encoding=ENCODING,
                                                     xml_declaration=False)  # fmt: skip
    return HttpResponse(body + b"\n", status=status, content_type=f"text/xml; charset={ENCODING}")


def bounces(fmt: str, rows: Iterable[dict]) -> StreamingHttpResponse:
    """`[{"email", "status", "reason"[, "created"]}, ...]` or `<bounces><bounce>...`, streamed:
    an old script asks for a whole list at once, which may be a million rows."""
    if fmt == "json":
        return StreamingHttpResponse(_json_array(rows), content_type="application/json")
    return StreamingHttpResponse(_xml_bounces(rows), content_type=f"text/xml; charset={ENCODING}")


def _chunks(rows: Iterable[dict]) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _json_array(rows: Iterable[dict]) -> Iterator[bytes]:
    separator = "["
    for chunk in _chunks(rows):
        yield (separator + ", ".join(json.dumps(row) for row in chunk)).encode()
        separator = ", "
    yield b"[]" if separator == "[" else b"]"


def _xml_bounces(rows: Iterable[dict]) -> Iterator[bytes]:
    yield DECLARATION.encode(ENCODING)
    opened = False
    for chunk in _chunks(rows):
        parts = [] if opened else [b"<bounces>\n"]
        opened = True
        for row in chunk:
            bounce = ET.Element("bounce")
            for key, value in row.items():
                ET.SubElement(bounce, key).text = _text(value)
            ET.indent(bounce, space="   ", level=1)
            parts.append(b"   " + ET.tostring(bounce, encoding=ENCODING, xml_declaration=False))
            parts.append(b"\n")
        yield b"".join(parts)
    yield b"</bounces>\n" if opened else b"<bounces />\n"


def result(fmt: str, fields: dict, *, status: int = 200) -> HttpResponse:
    """`{"message": "success", ...}` or `<result><message>success</message>...</result>`."""
    if fmt == "json":
        return JsonResponse(fields, status=status)
    root = ET.Element("result")
    for key, value in fields.items():
        ET.SubElement(root, key).text = _text(value)
    return _xml(root, status)


def error(fmt: str, exc: LegacyError) -> HttpResponse:
    """`{"message": "error", "errors": [...]}` (the v2 pages) or, for the pages' own messages,
    `{"message": "Email does not exist"}`; in XML `<result><message>error: reason</message>`."""
    if fmt == "json":
        body = {"message": exc.message}
        if exc.errors:
            body["errors"] = exc.errors
        return JsonResponse(body, status=exc.status)
    message = exc.message + (": " + " ".join(exc.errors) if exc.errors else "")
    return result("xml", {"message": message}, status=exc.status)
