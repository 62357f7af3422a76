"""Read views of the analytical store for every surface (web API, dashboard, exports).

Each view is a function of a :class:`~churnradar.views.store.ReadStore` (the store opened
read-only) and a :class:`~churnradar.views.scope.RegionScope` (the grids the reader may see, or
the whole operator): ``overview``, ``drill``, ``reasons``, ``package_view`` and ``metrics``
(:mod:`~churnradar.views.overview`), ``risk_list`` (:mod:`~churnradar.views.risk`), ``subscriber``
(:mod:`~churnradar.views.subscriber`), ``stored_score`` (:mod:`~churnradar.views.scores`),
campaigns (:mod:`~churnradar.views.campaigns`) and the model registry
(:mod:`~churnradar.views.model`). Figures that the metrics layer defines come from it.
"""

from churnradar.views.scope import EVERYTHING, NotInScope, RegionScope
from churnradar.views.store import ReadStore, as_store

__all__ = ["EVERYTHING", "NotInScope", "ReadStore", "RegionScope", "as_store"]
