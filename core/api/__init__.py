"""The HTTP API under /api/v1 on FastAPI: routes that parse and check a request (pydantic), call one domain service and shape the answer; core errors become JSON {"error": ...} with their status.

May import: any domain package and core.context; nothing imports it but app.py and its tests.
"""
