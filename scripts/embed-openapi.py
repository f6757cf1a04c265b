#!/usr/bin/env python3
"""Copies openapi.yaml into Sources/RepriseConsole/OpenAPIDocument.swift (the binary serves it)."""
import pathlib
root = pathlib.Path(__file__).resolve().parent.parent
y = (root / "openapi.yaml").read_text()
assert '"""#' not in y
(root / "Sources/RepriseConsole/OpenAPIDocument.swift").write_text(
    "/// `openapi.yaml` at the repository's root, served at `/openapi.yaml` (the binary is installed\n"
    "/// alone, so the document travels inside it). `OpenAPIDocumentTests` fails when the two differ:\n"
    "/// after editing the file, run `scripts/embed-openapi.py`.\n"
    "enum OpenAPIDocument {\n    static let yaml = #\"\"\"\n" + y + "\n\"\"\"#\n}\n")
