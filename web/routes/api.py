"""The JSON API under /api/v1, with bearer tokens (`ooc users token NAME`) and OpenAPI docs."""

from __future__ import annotations

from fastapi import FastAPI

from web import errors
from web.deps import Services


def create_api(services: Services) -> FastAPI:
    api = FastAPI(title="ooc API", version="1", docs_url="/docs", openapi_url="/openapi.json",
                  redoc_url=None)
    api.state.services = services
    errors.install(api)
    return api
