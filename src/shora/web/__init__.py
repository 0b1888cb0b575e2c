"""The web interface a node serves to the person at its keyboard (docs/web.md).

Server-rendered pages (Starlette, Jinja2) with htmx for partial updates, every asset
shipped in the package, Persian and English. ``shora serve`` runs it beside the sync
loop; `state.Keeper` holds the unlocked node, `security` guards every request, and
each page area is one module of `areas/` with its templates, listed in `app.AREAS`.
"""

DEFAULT_PORT = 8150  # here, so that the command line can name it without loading the pages
