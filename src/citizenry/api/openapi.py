"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``, and its HTML page.

The handlers read their requests themselves, so FastAPI's generated schema describes none of their
parameters, bodies or responses. Instead, :mod:`citizenry.api.openapi_operations` and
:mod:`citizenry.api.openapi_schemas` write the document out by hand, and
:mod:`citizenry.api.openapi_page` renders it as HTML. A test compares the document's operations
with the app's routes, so a new endpoint without a description fails it.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from citizenry import __version__
from citizenry.api.errors import NotAcceptable
from citizenry.api.negotiation import accepts_json
from citizenry.api.openapi_operations import (
    API_DESCRIPTION,
    TAGS,
    component_headers,
    component_parameters,
    component_responses,
    paths,
)
from citizenry.api.openapi_page import render_page
from citizenry.api.openapi_schemas import component_schemas
from citizenry.context import app_database, nation_issuer, nation_route
from citizenry.json_codec import JSONResponse
from citizenry.tenancy.nations import load_nation

router = APIRouter()

OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/api/v1/docs"


@cache
def _static_document() -> dict[str, Any]:
    """Return the parts of the document that are the same for every nation. Callers must copy it."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Citizenry API v1", "version": __version__, "description": API_DESCRIPTION},
        "tags": TAGS,
        "paths": paths(),
        "components": {
            "schemas": component_schemas(),
            "parameters": component_parameters(),
            "responses": component_responses(),
            "headers": component_headers(),
        },
        "security": [{"bearer": []}, {"access_token": []}, {"oauth2": []}],
    }


def build_document(base_url: str, nation_name: str) -> dict[str, Any]:
    """Return the document for the nation at ``base_url``, with its server and OAuth endpoints."""
    document = copy.deepcopy(_static_document())
    document["servers"] = [{"url": base_url, "description": nation_name}]
    document["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An app's access token, or an API token made in the control panel.",
        },
        "access_token": {
            "type": "apiKey",
            "in": "query",
            "name": "access_token",
            "description": "The same token as a query parameter; the strict profile rejects it.",
        },
        "oauth2": {
            "type": "oauth2",
            "description": "The nation's authorization server. Tokens carry no scopes: the permission "
            "level of the token's owner decides what the token may do.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{base_url}/oauth/authorize",
                    "tokenUrl": f"{base_url}/oauth/token",
                    "refreshUrl": f"{base_url}/oauth/token",
                    "scopes": {},
                }
            },
        },
    }
    return document


async def _nation_document(request: Request) -> dict[str, Any]:
    """Return the document of the request's nation, or raise ``NationNotFound`` (a 404)."""
    route = nation_route(request)

    def nation_name(session: Session) -> str:
        return load_nation(session, route).name

    name = await app_database(request).run(nation_name)
    return build_document(nation_issuer(request), name)


@router.get(OPENAPI_PATH)
async def openapi_document(request: Request) -> JSONResponse:
    """Serve the OpenAPI document of the request's nation, without a token."""
    if not accepts_json(request.headers.get("accept")):
        raise NotAcceptable()
    return JSONResponse(await _nation_document(request))


@router.get(DOCS_PATH)
async def openapi_page(request: Request) -> HTMLResponse:
    """Serve the operations of the document as a plain HTML page, without a token."""
    document = await _nation_document(request)
    root: str = request.scope.get("root_path", "")
    return HTMLResponse(render_page(document, root=root, document_path=OPENAPI_PATH))
