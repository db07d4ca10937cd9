"""The web service on top of the engine: the app factory (app.py), the JSON API (api.py) and its
OpenAPI document, the registry of the models it serves, the page's template and static files."""
