"""The structure of an AsyncAPI 3.0 document, as a JSON Schema, for the parts of the specification taskd's document
uses: the required fields and allowed values of the root, Info, Server, Channel, Operation, Message and Security
Scheme objects, the shapes of references, and the WebSocket channel binding (version 0.1.0). No maintained PyPI
package ships the specification's own JSON Schema, so this is written from the specification (asyncapi.com,
version 3.0.0); unknown fixed fields are refused, specification extensions (`x-…`) are allowed."""

from __future__ import annotations

EXTENSIONS = {"^x-": {}}

REFERENCE = {
    "type": "object",
    "required": ["$ref"],
    "properties": {"$ref": {"type": "string", "format": "uri-reference"}},
    "additionalProperties": False,
}

TAG = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "externalDocs": {"type": "object"}},
}


def fixed(properties: dict, required: list[str] | None = None) -> dict:
    """An object with these fixed fields (and extensions) only."""
    return {
        "type": "object",
        "required": required or [],
        "properties": properties,
        "patternProperties": EXTENSIONS,
        "additionalProperties": False,
    }


def either_reference(schema: dict) -> dict:
    return {"anyOf": [REFERENCE, schema]}


TEXT = {"type": "string"}
SCHEMA = {"type": ["object", "boolean"]}  # an AsyncAPI Schema Object: a superset of JSON Schema draft 07
WS_CHANNEL_BINDING = fixed(
    {
        "method": {"enum": ["GET", "POST"]},
        "query": SCHEMA,
        "headers": SCHEMA,
        "bindingVersion": {"const": "0.1.0"},
    }
)

SECURITY_SCHEME = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "enum": [
                "userPassword", "apiKey", "X509", "symmetricEncryption", "asymmetricEncryption", "httpApiKey", "http",
                "oauth2", "openIdConnect", "plain", "scramSha256", "scramSha512", "gssapi",
            ]
        },
        "description": TEXT,
        "name": TEXT,
        "in": {"enum": ["user", "password", "query", "header", "cookie"]},
        "scheme": TEXT,
        "bearerFormat": TEXT,
        "flows": {"type": "object"},
        "openIdConnectUrl": TEXT,
        "scopes": {"type": "array", "items": TEXT},
    },
    "patternProperties": EXTENSIONS,
    "additionalProperties": False,
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "httpApiKey"}}},
            "then": {"required": ["name", "in"], "properties": {"in": {"enum": ["query", "header", "cookie"]}}},
        },
        {
            "if": {"properties": {"type": {"const": "apiKey"}}},
            "then": {"required": ["in"], "properties": {"in": {"enum": ["user", "password"]}}},
        },
    ],
}

MESSAGE_EXAMPLE = fixed(
    {"name": TEXT, "summary": TEXT, "headers": {"type": "object"}, "payload": {}},
)

MESSAGE = fixed(
    {
        "headers": either_reference(SCHEMA),
        "payload": either_reference(SCHEMA),
        "correlationId": {"type": "object"},
        "contentType": TEXT,
        "name": TEXT,
        "title": TEXT,
        "summary": TEXT,
        "description": TEXT,
        "tags": {"type": "array", "items": TAG},
        "externalDocs": {"type": "object"},
        "bindings": {"type": "object"},
        "examples": {"type": "array", "items": MESSAGE_EXAMPLE},
        "traits": {"type": "array"},
    }
)

SERVER = fixed(
    {
        "host": TEXT,
        "protocol": TEXT,
        "protocolVersion": TEXT,
        "pathname": TEXT,
        "description": TEXT,
        "title": TEXT,
        "summary": TEXT,
        "variables": {"type": "object"},
        "security": {"type": "array", "items": either_reference(SECURITY_SCHEME)},
        "tags": {"type": "array", "items": TAG},
        "externalDocs": {"type": "object"},
        "bindings": {"type": "object"},
    },
    required=["host", "protocol"],
)

CHANNEL = fixed(
    {
        "address": {"type": ["string", "null"]},
        "messages": {"type": "object", "additionalProperties": either_reference(MESSAGE)},
        "title": TEXT,
        "summary": TEXT,
        "description": TEXT,
        "servers": {"type": "array", "items": REFERENCE},
        "parameters": {"type": "object"},
        "tags": {"type": "array", "items": TAG},
        "externalDocs": {"type": "object"},
        "bindings": fixed({"ws": WS_CHANNEL_BINDING}),
    }
)

OPERATION = fixed(
    {
        "action": {"enum": ["send", "receive"]},
        "channel": REFERENCE,
        "title": TEXT,
        "summary": TEXT,
        "description": TEXT,
        "security": {"type": "array", "items": either_reference(SECURITY_SCHEME)},
        "tags": {"type": "array", "items": TAG},
        "externalDocs": {"type": "object"},
        "bindings": {"type": "object"},
        "traits": {"type": "array"},
        "messages": {"type": "array", "items": REFERENCE},
        "reply": {"type": "object"},
    },
    required=["action", "channel"],
)

COMPONENT_NAME = "^[a-zA-Z0-9.\\-_]+$"


def components_of(schema: dict) -> dict:
    return {"type": "object", "propertyNames": {"pattern": COMPONENT_NAME}, "additionalProperties": schema}


ASYNCAPI_3_STRUCTURE = fixed(
    {
        "asyncapi": {"const": "3.0.0"},
        "id": {"type": "string", "format": "uri"},
        "info": fixed(
            {
                "title": TEXT,
                "version": TEXT,
                "description": TEXT,
                "termsOfService": TEXT,
                "contact": {"type": "object"},
                "license": fixed({"name": TEXT, "url": TEXT}, required=["name"]),
                "tags": {"type": "array", "items": TAG},
                "externalDocs": {"type": "object"},
            },
            required=["title", "version"],
        ),
        "servers": components_of(either_reference(SERVER)),
        "defaultContentType": TEXT,
        "channels": components_of(either_reference(CHANNEL)),
        "operations": components_of(either_reference(OPERATION)),
        "components": fixed(
            {
                "schemas": components_of(either_reference(SCHEMA)),
                "servers": components_of(either_reference(SERVER)),
                "channels": components_of(either_reference(CHANNEL)),
                "operations": components_of(either_reference(OPERATION)),
                "messages": components_of(either_reference(MESSAGE)),
                "securitySchemes": components_of(either_reference(SECURITY_SCHEME)),
                "serverVariables": {"type": "object"},
                "parameters": {"type": "object"},
                "correlationIds": {"type": "object"},
                "replies": {"type": "object"},
                "replyAddresses": {"type": "object"},
                "externalDocs": {"type": "object"},
                "tags": {"type": "object"},
                "operationTraits": {"type": "object"},
                "messageTraits": {"type": "object"},
                "serverBindings": {"type": "object"},
                "channelBindings": {"type": "object"},
                "operationBindings": {"type": "object"},
                "messageBindings": {"type": "object"},
            }
        ),
    },
    required=["asyncapi", "info"],
)


def resolve(document: dict, node):
    """`node`, or what its local `$ref` (`#/a/b`) points at, followed until it is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"only local references are used: {reference}"
        node = document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def unresolved_references(document: dict) -> list[str]:
    """Every `$ref` in the document that does not point at something in it."""
    missing = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                try:
                    resolve(document, {"$ref": node["$ref"]})
                except (KeyError, TypeError, AssertionError):
                    missing.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return missing
