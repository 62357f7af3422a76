"""One router per resource; ``ROUTERS`` is what the app includes, in order."""

from churnradar.api.routes import (
    analytics,
    campaigns,
    health,
    kpis,
    me,
    model,
    page_campaigns,
    page_overview,
    page_reports,
    page_risk,
    pages,
    reports,
    risk,
    scoring,
    subscribers,
)

ROUTERS = [
    health.router,
    me.router,
    subscribers.router,
    risk.router,
    analytics.router,
    kpis.router,
    campaigns.router,
    scoring.router,
    model.router,
    reports.router,
    pages.router,
    page_overview.router,
    page_risk.router,
    page_campaigns.router,
    page_reports.router,
]
