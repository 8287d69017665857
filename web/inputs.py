"""Request-wide checks of input (`ooc.inputs` holds the limits): ids in addresses, and NUL
characters anywhere in what was sent.

An id in the address that is not a whole number from 1 to `MAX_ID` names nothing that
exists, so it is answered like any other id that names nothing: 404 (`web.errors` turns a
refused path parameter into 404). The OpenAPI schema declares the range.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Path, Request

from ooc.errors import FieldProblem, InvalidForm
from ooc.inputs import MAX_ID, NUL_MESSAGE, has_nul

ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description=f"An id: a whole number from 1 to "
                                                         f"{MAX_ID}.")]


def _named(where: str) -> InvalidForm:
    what = "The data sent" if where == "body" else f"'{where}'"
    return InvalidForm([FieldProblem(where, f"{what} {NUL_MESSAGE}")])


async def refuse_nul(request: Request) -> None:
    """Refuse a request with a NUL character in its address, query, form or JSON body:
    PostgreSQL cannot store one, and no one types it. Uploaded files are the importer's
    to check (`ooc.imports.decode_csv`), so a multipart body is not read here."""
    if "\x00" in request.url.path:
        raise _named("address")
    for name, value in request.query_params.multi_items():
        if has_nul(name) or has_nul(value):
            raise _named(name.replace("\x00", ""))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        for name, value in (await request.form()).multi_items():
            if has_nul(name) or has_nul(value):
                raise _named(name.replace("\x00", ""))
    elif kind.endswith("json"):
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            try:
                sent = json.loads(body)
            except ValueError:
                return  # not JSON: refused as such by the route's own validation
            if has_nul(sent):
                raise _named("body")
