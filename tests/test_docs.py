"""The documentation's links lead somewhere, and the API docs page renders its own intro."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CODE_SPAN = re.compile(r"`[^`]*`")


def _markdown_files():
    yield ROOT / "README.md"
    yield from (ROOT / "docs").rglob("*.md")
    yield ROOT / "tenants" / "README.md"


def test_relative_links_resolve():
    missing = []
    for doc in _markdown_files():
        for target in LINK.findall(doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                missing.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert missing == []


def test_docs_name_no_missing_file_in_code_spans():
    # `docs/foo.md` written as code is a reference too.
    missing = []
    for doc in _markdown_files():
        for span in CODE_SPAN.findall(doc.read_text()):
            name = span.strip("`")
            if re.fullmatch(r"docs/[\w./-]+\.md", name) and not (ROOT / name).exists():
                missing.append(f"{doc.relative_to(ROOT)} -> {name}")
    assert missing == []


def test_api_description_has_no_html_outside_code():
    # Swagger UI and ReDoc render the description as Markdown: a bare <subdomain> is an
    # HTML tag and vanishes (the intro read "https://./api/v1/").
    description = settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
    assert not re.search(r"<[a-z]", CODE_SPAN.sub("", description))
    assert f"https://<subdomain>.{settings.BASE_DOMAIN}/api/v1/" in description
