"""Writes ``reference/circuit-file.md``, the circuit-file reference, from :mod:`spikefa.schema` before
each build (the page is generated, not kept in git)."""

from pathlib import Path

from spikefa import schema


def write_reference(app) -> None:
    page = Path(app.srcdir) / "reference" / "circuit-file.md"
    text = schema.reference_markdown()
    if not page.is_file() or page.read_text() != text:  # unchanged: Sphinx need not read it again
        page.write_text(text)


def setup(app):
    app.connect("builder-inited", write_reference)
    return {"parallel_read_safe": True}
