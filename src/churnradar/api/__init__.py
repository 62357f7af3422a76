"""REST API and web dashboard (FastAPI): ``create_app(store_path, database_url=None)``.

>>> from churnradar.api import create_app
>>> app = create_app("operator.duckdb")  # doctest: +SKIP
"""

from churnradar.api.app import create_app

__all__ = ["create_app"]
