"""The OpenAPI documents, served as YAML, and an offline docs page rendered from them.

The canonical files live in ``specs/`` at the top of the repository; the package reaches
them through ``mockserver/data/specs`` (a link to that folder, copied into built wheels),
so an installed emulator serves exactly the documents the contract suite tests against.
The docs page is plain server-side HTML (Jinja, no scripts, no fonts, no CDN): it works
with no internet access.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import yaml
from flask import Blueprint, Response, render_template_string
from markupsafe import Markup

from ..core.errors import NotFound
from ..vendors import VENDORS

blueprint = Blueprint("specs", __name__, url_prefix="/_mock")

#: the documents, in the order the docs page shows them
SPEC_NAMES = (*(vendor.spec for vendor in VENDORS), "control")
METHODS = ("get", "post", "put", "patch", "delete")


def spec_path(name: str) -> Path:
    """Where a spec lives: the package's data folder, else ``specs/`` beside the package."""
    packaged = Path(str(resources.files("mockserver").joinpath("data", "specs", f"{name}.yaml")))
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "specs" / f"{name}.yaml"


@cache
def spec_text(name: str) -> str:
    if name not in SPEC_NAMES:
        raise NotFound()
    return spec_path(name).read_text(encoding="utf-8")


@cache
def spec_document(name: str) -> dict:
    return yaml.safe_load(spec_text(name))


@blueprint.get("/openapi/<name>.yaml")
def openapi_yaml(name: str):
    return Response(
        spec_text(name), mimetype="application/yaml", content_type="application/yaml; charset=utf-8"
    )


@blueprint.get("/openapi/<name>.json")
def openapi_json(name: str):
    return Response(json.dumps(spec_document(name)), mimetype="application/json")


@blueprint.get("/docs")
def docs():
    documents = [_document_view(name, spec_document(name)) for name in SPEC_NAMES]
    page = render_template_string(_template(), documents=documents)
    return Response(page, mimetype="text/html")


# -- turning a document into what the template shows --------------------------------------


def _document_view(name: str, doc: dict) -> dict:
    components = doc.get("components", {})
    operations = []
    for path, item in doc.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            params = [_resolve(doc, p) for p in shared + op.get("parameters", [])]
            operations.append(
                {
                    "anchor": f"{name}-{op.get('operationId', method + path)}",
                    "method": method.upper(),
                    "path": path,
                    "id": op.get("operationId", ""),
                    "summary": op.get("summary", ""),
                    "description": _markdown(op.get("description", "")),
                    "parameters": [_parameter_view(name, p) for p in params],
                    "body": _body_view(name, doc, op.get("requestBody")),
                    "responses": [
                        _response_view(name, doc, code, response)
                        for code, response in op.get("responses", {}).items()
                    ],
                    "links": sorted(
                        {
                            link.get("operationId", "")
                            for response in op.get("responses", {}).values()
                            for link in _resolve(doc, response).get("links", {}).values()
                        }
                    ),
                }
            )
    schemas = [
        {
            "name": schema_name,
            "anchor": f"{name}-schema-{schema_name}",
            "type": _type_text(name, schema),
            "description": _markdown(schema.get("description", "")),
            "properties": _properties_view(name, schema),
        }
        for schema_name, schema in components.get("schemas", {}).items()
    ]
    security = [
        f"{key}: {scheme.get('type')} {scheme.get('in', '')} {scheme.get('name', scheme.get('scheme', ''))}".strip()
        for key, scheme in components.get("securitySchemes", {}).items()
    ]
    info = doc.get("info", {})
    return {
        "name": name,
        "title": info.get("title", name),
        "version": info.get("version", ""),
        "description": _markdown(info.get("description", "")),
        "servers": [server.get("url", "") for server in doc.get("servers", [])],
        "security": security,
        "operations": operations,
        "schemas": schemas,
    }


def _resolve(doc: dict, node: object) -> dict:
    """Follow local ``$ref``s (``#/components/...``) to the node they name."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target: object = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
        seen += 1
    return node if isinstance(node, dict) else {}


def _parameter_view(name: str, param: dict) -> dict:
    return {
        "name": param.get("name", ""),
        "in": param.get("in", ""),
        "required": bool(param.get("required")),
        "type": _type_text(name, param.get("schema", {})),
        "description": _markdown(param.get("description", "")),
    }


def _examples(doc: dict, content: dict) -> list[tuple[str, str]]:
    """A media type's named examples, then its single ``example``, pretty-printed."""
    examples = [
        (key, _pretty(_resolve(doc, example).get("value")))
        for key, example in content.get("examples", {}).items()
    ]
    if "example" in content:
        examples.append(("example", _pretty(content["example"])))
    return examples


def _body_view(name: str, doc: dict, body: object) -> dict | None:
    if not body:
        return None
    body = _resolve(doc, body)
    contents = []
    for media_type, content in body.get("content", {}).items():
        contents.append(
            {
                "media_type": media_type,
                "type": _type_text(name, content.get("schema", {})),
                "properties": _properties_view(name, _resolve(doc, content.get("schema", {}))),
                "examples": _examples(doc, content),
            }
        )
    return {"required": bool(body.get("required")), "contents": contents}


def _response_view(name: str, doc: dict, code: str, response: dict) -> dict:
    response = _resolve(doc, response)
    contents = []
    for media_type, content in response.get("content", {}).items():
        contents.append(
            {
                "media_type": media_type,
                "type": _type_text(name, content.get("schema", {})),
                "examples": _examples(doc, content),
            }
        )
    headers = [
        (header_name, _type_text(name, _resolve(doc, header).get("schema", {})))
        for header_name, header in response.get("headers", {}).items()
    ]
    return {
        "code": code,
        "description": _markdown(response.get("description", "")),
        "headers": headers,
        "contents": contents,
    }


def _properties_view(name: str, schema: dict) -> list[dict]:
    """The fields of an object schema, including those its ``allOf`` parts add inline."""
    parts = [schema] + [part for part in schema.get("allOf", []) if isinstance(part, dict)]
    required = {field for part in parts for field in part.get("required", [])}
    return [
        {
            "name": prop,
            "required": prop in required,
            "type": _type_text(name, sub),
            "description": _markdown(sub.get("description", "")) if isinstance(sub, dict) else "",
        }
        for part in parts
        for prop, sub in part.get("properties", {}).items()
    ]


def _type_text(name: str, schema: object) -> Markup:
    """A one-line, linked rendering of a schema: ``array of Camera``, ``string (date) | null``."""
    if not isinstance(schema, dict) or not schema:
        return Markup("any")
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        return Markup('<a href="#{}-schema-{}">{}</a>').format(name, target, target)
    for key, joiner in (("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")):
        if key in schema:
            return Markup(joiner).join(_type_text(name, sub) for sub in schema[key])
    kind = schema.get("type", "")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if "array" in kinds:
        return Markup("array of ") + _type_text(name, schema.get("items", {}))
    parts = [" | ".join(kinds) or ("const" if "const" in schema else "any")]
    if "format" in schema:
        parts.append(f"({schema['format']})")
    if "enum" in schema:
        parts.append("one of " + ", ".join(json.dumps(v) for v in schema["enum"]))
    if "const" in schema:
        parts.append("= " + json.dumps(schema["const"]))
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    for bound in ("minimum", "maximum", "minLength", "maxItems", "default"):
        if bound in schema:
            parts.append(f"{bound} {json.dumps(schema[bound])}")
    return Markup(html.escape(" ".join(parts)))


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"\*([^*\s][^*]*)\*")


def _markdown(text: str) -> Markup:
    """Just enough Markdown for the specs' descriptions: paragraphs, lists, code, emphasis."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("* ", "- ")) for line in lines[:1]):
            items, current = [], []
            for line in lines:
                if line.startswith(("* ", "- ")) and current:
                    items.append(" ".join(current))
                    current = []
                current.append(line[2:] if line.startswith(("* ", "- ")) else line)
            items.append(" ".join(current))
            blocks.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return Markup("".join(blocks))


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped)
    return _EMPHASIS.sub(lambda m: f"<em>{m.group(1)}</em>", escaped)


@lru_cache(maxsize=1)
def _template() -> str:
    return (
        resources.files("mockserver").joinpath("data", "docs.html.j2").read_text(encoding="utf-8")
    )
