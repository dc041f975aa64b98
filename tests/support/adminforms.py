"""Submitting a Django admin form as a browser would: what the page renders, plus changes.

Tests of the admin post what the page offers and then add what an attacker would type in by
hand, so they exercise the form the editor really gets, whichever fields it has.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    """The successful controls of the admin's model form (`<form id="…_form">`)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.names: set[str] = set()
        self._in_form = False
        self._select: dict | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("id", "").endswith("_form")
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            self.names.add(name)
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(
                a.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "select" and name:
            self.names.add(name)
            self._select = {"name": name, "multiple": "multiple" in a, "first": None, "chosen": []}
        elif tag == "option" and self._select is not None:
            if self._select["first"] is None:
                self._select["first"] = a.get("value", "")
            if "selected" in a:
                self._select["chosen"].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.names.add(name)
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            if not chosen and not self._select["multiple"] and self._select["first"] is not None:
                chosen = [self._select["first"]]
            if chosen:
                self.data[self._select["name"]] = chosen
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self.data[self._textarea][0] += data


def form_fields(html: str) -> tuple[dict[str, list[str]], set[str]]:
    """(what a browser would post, every control name the form renders)."""
    parser = _FormFields()
    parser.feed(html)
    return parser.data, parser.names


def submit(client, url: str, **changes):
    """GET the form at `url`, apply `changes` and POST it.

    A change sets the field of that name (True as a ticked checkbox, False or None drops it) and
    also every rendered field whose name ends in `-<name>`, so `subusers=` reaches an inline's
    `operator-0-subusers` as well as a form's own `subusers`.
    """
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    data, names = form_fields(page.content.decode())
    for key, value in changes.items():
        for name in [key, *(n for n in names if n.endswith(f"-{key}"))]:
            if value is None or value is False:
                data.pop(name, None)
            elif value is True:
                data[name] = ["on"]
            elif isinstance(value, list | tuple):
                data[name] = [str(v) for v in value]
            else:
                data[name] = [str(value)]
    return client.post(url, data)
