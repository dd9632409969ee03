"""XSS payloads and the check that a rendered page keeps them inert.

Each user-writable field gets the payload behind its own short tag ("X07"), so a page that
shows the field can be found (the tag followed by the payload in the page's text or an
attribute value, i.e. escaped) and a page that executes it can be named. A page fails when
its markup holds a <script> element or an event-handler attribute carrying `alert(`, the
payload's <img src=x>, or a link, form or frame whose address starts with `javascript:`."""

from __future__ import annotations

import re
from html.parser import HTMLParser

SCRIPT = "<script>alert(1)</script>"
PAYLOAD = SCRIPT + '"><img src=x onerror=alert(1)>javascript:alert(1)'  # 77 characters
LONG_PAYLOAD = PAYLOAD + ' <a href="javascript:alert(1)">x</a> <svg onload=alert(1)> \'-alert(1)-\''
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"}


def tagged(tag: str, *, long: bool = False) -> str:
    return f"{tag}{LONG_PAYLOAD if long else PAYLOAD}"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._check_tag(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check_tag(tag, attrs)

    def _check_tag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
        if tag == "img" and any(name == "src" and value == "x" for name, value in attrs):
            self.problems.append(f"an injected <img src=x> tag: {attrs}")
        for name, value in attrs:
            value = value or ""
            self.texts.append(value)
            if name.startswith("on") and "alert(" in value:
                self.problems.append(f"an injected event handler <{tag} {name}={value!r}>")
            address = re.sub(r"[\x00-\x20]", "", value).lower()
            if name in URL_ATTRIBUTES and address.startswith("javascript:"):
                self.problems.append(f"a javascript: address <{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.problems.append(f"an injected script: {data[:80]!r}")
        if not self._in_script:
            self.texts.append(data)


def inspect(html: str) -> tuple[list[str], str]:
    """(problems, the page's text and attribute values, decoded)."""
    page = _Page()
    page.feed(html)
    page.close()
    problems = list(page.problems)
    if "<script>alert(1)" in html:
        problems.append("the raw <script>alert(1) is in the markup")
    return problems, "\n".join(page.texts)
