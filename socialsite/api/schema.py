"""What every operation of the API can answer, added to each in the OpenAPI schema (a
drf-spectacular postprocessing hook): the views document their own refusals, this the shared ones,
and the one `limit` rule."""

ERROR = {"$ref": "#/components/schemas/Error"}
SHARED = {
    "400": "Bad input: a malformed body, a bad query parameter, a NUL character anywhere.",
    "429": "Over a rate limit; `Retry-After` says when to come back.",
    "503": "No database connection was free in time; `Retry-After` says when to come back.",
}
SIGNED_IN = ("401", "Not signed in, or the token is expired or revoked.")
BY_ID = ("404", "No such object, or one the caller may not see (also a malformed id or cursor).")


# socialsite.params.limit, the one rule of every list: a whole number from 1 (more is taken as the most).
LIMIT = {"type": "integer", "minimum": 1}


def _paginated(operation):
    page = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
    return page.get("schema", {}).get("$ref", "").startswith("#/components/schemas/Paginated")


def add_shared_errors(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "limit":
                    parameter["schema"] = dict(LIMIT)
            answers = operation.setdefault("responses", {})
            shared = dict(SHARED)
            if {} not in operation.get("security", [{}]):  # anonymous callers are refused
                shared[SIGNED_IN[0]] = SIGNED_IN[1]
            if "{" in path or _paginated(operation):  # DRF's cursor pagination: a cursor it can't read is 404
                shared[BY_ID[0]] = BY_ID[1]
            for status, description in shared.items():
                answers.setdefault(
                    status, {"content": {"application/json": {"schema": ERROR}}, "description": description}
                )
    return result
