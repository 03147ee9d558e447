"""The OpenAPI document as a plain HTML page, served at ``/api/v1/docs``.

The page loads nothing but the server's own style sheet and runs no script, as the
Content-Security-Policy that every response carries requires.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
RESPONSE_REFERENCE = "#/components/responses/"
SCHEMA_REFERENCE = "#/components/schemas/"

Document = dict[str, Any]


def _inline_markdown(text: str) -> str:
    """Escape ``text`` and turn its ``**bold**`` and backquoted code into HTML."""
    html = escape(text, quote=False)
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)


def _markdown_blocks(text: str) -> list[str]:
    """Render the paragraphs and bullet lists of the document's description, the only Markdown it uses."""
    lines: list[str] = []
    for block in text.strip().split("\n\n"):
        if block.startswith("- "):
            items = [" ".join(item.split()) for item in block[2:].split("\n- ")]
            lines.append("<ul>" + "".join(f"<li>{_inline_markdown(item)}</li>" for item in items) + "</ul>")
        else:
            lines.append(f"<p>{_inline_markdown(' '.join(block.split()))}</p>")
    return lines


def _resolve(document: Document, value: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` such as ``#/components/parameters/limit``."""
    reference = value.get("$ref")
    if not isinstance(reference, str):
        return value
    target: Any = document
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    resolved: dict[str, Any] = target
    return resolved


def _schema_summary(schema: dict[str, Any]) -> str:
    """Return a short text form of a parameter's schema, such as ``integer, 1 to 999999``."""
    kind = schema.get("type", "")
    text = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if "enum" in schema:
        text += ": " + ", ".join(str(value) for value in schema["enum"])
    if "minimum" in schema and "maximum" in schema:
        text += f", {schema['minimum']} to {schema['maximum']}"
    if "format" in schema:
        text += f" ({schema['format']})"
    return text


def _schema_names(schema: dict[str, Any]) -> list[str]:
    """Return the names of the component schemas that a response body refers to at its top level."""
    references = [schema, *schema.get("oneOf", [])]
    return [
        reference["$ref"].removeprefix(SCHEMA_REFERENCE)
        for reference in references
        if str(reference.get("$ref", "")).startswith(SCHEMA_REFERENCE)
    ]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _operations_by_tag(document: Document) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {tag["name"]: [] for tag in document["tags"]}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                operation = item[method]
                groups.setdefault(operation["tags"][0], []).append((method.upper(), path, operation))
    return groups


def _parameter_table(document: Document, operation: dict[str, Any]) -> list[str]:
    parameters = [_resolve(document, parameter) for parameter in operation.get("parameters", [])]
    if not parameters:
        return []
    lines = [
        "<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr></thead><tbody>"
    ]
    for parameter in parameters:
        required = " (required)" if parameter.get("required") and parameter["in"] != "path" else ""
        lines.append(
            f"<tr><td><code>{escape(parameter['name'])}</code>{required}</td>"
            f"<td>{escape(parameter['in'])}</td>"
            f"<td>{escape(_schema_summary(parameter['schema']))}</td>"
            f"<td>{escape(parameter.get('description', ''))}</td></tr>"
        )
    lines.append("</tbody></table>")
    return lines


def _answers(document: Document, operation: dict[str, Any]) -> list[str]:
    """List the operation's own responses in full, and the shared error responses as links."""
    lines = ["<ul>"]
    shared = []
    for status, response in operation["responses"].items():
        reference = str(response.get("$ref", ""))
        if reference.startswith(RESPONSE_REFERENCE):
            name = reference.removeprefix(RESPONSE_REFERENCE)
            shared.append(f'<a href="#error-{escape(_slug(name))}">{escape(status)}</a>')
            continue
        text = f"<li><strong>{escape(status)}</strong>: {escape(response['description'])}"
        for content in response.get("content", {}).values():
            names = _schema_names(content.get("schema", {}))
            if names:
                text += " Body: " + " or ".join(
                    f'<a href="#schema-{escape(_slug(n))}">{escape(n)}</a>' for n in names
                )
        lines.append(text + "</li>")
    if shared:
        lines.append(f"<li>Errors: {', '.join(shared)}.</li>")
    lines.append("</ul>")
    return lines


def _render_operation(document: Document, method: str, path: str, operation: dict[str, Any]) -> list[str]:
    description = escape(operation["summary"]) + "."
    if "description" in operation:
        description += " " + escape(operation["description"])
    lines = [
        f'<section id="{escape(operation["operationId"])}">',
        f"<h3><code>{method} {escape(path)}</code></h3>",
        f"<p>{description}</p>",
    ]
    if operation.get("security") == []:
        lines.append('<p class="help">No token needed.</p>')
    lines.extend(_parameter_table(document, operation))
    body = operation.get("requestBody")
    if body is not None:
        schema = body["content"]["application/json"]["schema"]
        roots = ", ".join(f"<code>{escape(name)}</code>" for name in schema.get("required", []))
        lines.append(f"<p>JSON body with {roots}. {escape(body.get('description', ''))}</p>")
    lines.extend(_answers(document, operation))
    lines.append("</section>")
    return lines


def _shared_error_statuses(document: Document) -> dict[str, str]:
    """Return the status code of each shared error response, by its component name."""
    statuses: dict[str, str] = {}
    for item in document["paths"].values():
        for method in HTTP_METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                reference = str(response.get("$ref", ""))
                if reference.startswith(RESPONSE_REFERENCE):
                    statuses[reference.removeprefix(RESPONSE_REFERENCE)] = status
    return statuses


def _shared_errors(document: Document) -> list[str]:
    statuses = _shared_error_statuses(document)
    lines = ['<h2 id="errors">Errors</h2>', '<dl class="facts">']
    for name, response in document["components"]["responses"].items():
        label = f"{statuses.get(name, '')} {name}".strip()
        lines.append(f'<dt id="error-{escape(_slug(name))}">{escape(label)}</dt>')
        lines.append(f"<dd>{escape(response['description'])}</dd>")
    lines.append("</dl>")
    return lines


def _schema_index(document: Document) -> list[str]:
    lines = [
        '<h2 id="schemas">Schemas</h2>',
        "<p>The full definitions, field by field, are in the machine-readable document.</p>",
        '<dl class="facts">',
    ]
    for name, schema in document["components"]["schemas"].items():
        lines.append(f'<dt id="schema-{escape(_slug(name))}"><code>{escape(name)}</code></dt>')
        lines.append(f"<dd>{escape(schema.get('description', ''))}</dd>")
    lines.append("</dl>")
    return lines


def _head(document: Document, root: str) -> list[str]:
    server = document["servers"][0]
    title = f"{document['info']['title']}: {server['description']}"
    return [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f'<link rel="stylesheet" href="{escape(root)}/static/panel.css">',
        "</head>",
    ]


def _contents(document: Document, groups: dict[str, list[tuple[str, str, dict[str, Any]]]]) -> list[str]:
    lines = ['<nav aria-label="Sections"><ul>']
    for tag in document["tags"]:
        if groups.get(tag["name"]):
            lines.append(f'<li><a href="#tag-{escape(_slug(tag["name"]))}">{escape(tag["name"])}</a></li>')
    lines.append('<li><a href="#errors">Errors</a></li>')
    lines.append('<li><a href="#schemas">Schemas</a></li>')
    lines.append("</ul></nav>")
    return lines


def render_page(document: Document, *, root: str, document_path: str) -> str:
    """Render the document's operations as HTML. ``root`` is the nation's path prefix, if any."""
    server = document["servers"][0]
    groups = _operations_by_tag(document)
    lines = _head(document, root)

    lines += [
        "<body>",
        f'<header class="top"><span class="brand">{escape(server["description"])}</span></header>',
        "<main>",
        f"<h1>{escape(document['info']['title'])}</h1>",
        f"<p>Server: <code>{escape(server['url'])}</code>. The machine-readable description is "
        f'<a href="{escape(root + document_path)}">openapi.json</a> '
        f"(OpenAPI {escape(document['openapi'])}).</p>",
        *_markdown_blocks(document["info"]["description"]),
        *_contents(document, groups),
    ]

    for tag in document["tags"]:
        if not groups.get(tag["name"]):
            continue
        lines.append(f'<h2 id="tag-{escape(_slug(tag["name"]))}">{escape(tag["name"])}</h2>')
        lines.append(f"<p>{escape(tag['description'])}</p>")
        for method, path, operation in groups[tag["name"]]:
            lines.extend(_render_operation(document, method, path, operation))

    lines.extend(_shared_errors(document))
    lines.extend(_schema_index(document))
    lines.extend(["</main>", "</body>", "</html>", ""])
    return "\n".join(lines)
