"""Each churn mechanism leaves the trace in the data that DOMAIN.md says an analyst would see.

All tests read one 50,000-subscriber × 15-month operator (2024-01 … 2025-03, seed 3): Spring
Festival falls in February 2024 and January 2025.
"""

from __future__ import annotations

import numpy as np
import pytest

SF_MONTHS = ("2024-02", "2024-03", "2025-01", "2025-02")
OFFNET = "kind IN ('offnet', 'port_out')"


def q(db, sql):
    return db.sql(sql).fetchall()


def _sf_lift(db, flag: str) -> float:
    """Churn rate of flagged lines relative to the others, SF months / other months."""
    (lift,) = db.sql(f"""
        WITH subs AS (SELECT s.subscriber_id, {flag} AS f FROM subscription s
                      JOIN region r USING (grid_id) JOIN customer c USING (customer_id)),
        act AS (SELECT u.month, s.f, count(*) AS n FROM usage_monthly u JOIN subs s USING (subscriber_id)
                WHERE u.active_days > 0 GROUP BY ALL),
        ch AS (SELECT t.left_month AS month, s.f, count(*) AS c FROM truth t JOIN subs s USING (subscriber_id)
               WHERE {OFFNET} GROUP BY ALL),
        rr AS (SELECT strftime(month, '%Y-%m') AS m,
                      (sum(c) FILTER (WHERE f) / sum(n) FILTER (WHERE f))
                      / (sum(c) FILTER (WHERE NOT f) / sum(n) FILTER (WHERE NOT f)) AS rr
               FROM act LEFT JOIN ch USING (month, f) GROUP BY ALL)
        SELECT avg(rr) FILTER (WHERE m IN {SF_MONTHS}) / avg(rr) FILTER (WHERE m NOT IN {SF_MONTHS}) FROM rr
    """).fetchone()
    return lift


def test_spring_festival_churn_peaks_in_migrant_counties(db):
    assert _sf_lift(db, "r.county_id IN ('YC06', 'YC07')") > 1.1
    assert _sf_lift(db, "c.customer_group = 'migrant'") > 1.15
    assert 0.85 < _sf_lift(db, "r.county_id IN ('YC01', 'YC02')") < 1.1


def test_promotion_churners_leave_at_tenure_3_to_9_months(db):
    rows = q(
        db,
        f"""
        SELECT date_diff('month', date_trunc('month', s.activation_date), t.left_month) AS tenure, count(*)
        FROM truth t JOIN subscription s USING (subscriber_id) JOIN package p ON p.package_id = s.package_id
        WHERE p.is_promotion AND {OFFNET} GROUP BY 1""",
    )
    counts = dict(rows)
    total = sum(counts.values())
    assert total > 300
    in_band = sum(n for t, n in counts.items() if 3 <= t <= 9)
    assert in_band / total > 0.75
    # the promo package's monthly churn at tenure 3–9 is far above its first months
    (early, mid) = db.sql(f"""
        WITH lines AS (SELECT u.subscriber_id, u.month,
                         date_diff('month', date_trunc('month', s.activation_date), u.month) AS tenure
                       FROM usage_monthly u JOIN subscription s USING (subscriber_id)
                       JOIN package p ON p.package_id = s.package_id WHERE p.is_promotion),
        ch AS (SELECT subscriber_id, left_month AS month, 1 AS churned FROM truth WHERE {OFFNET})
        SELECT avg(coalesce(churned, 0)) FILTER (WHERE tenure BETWEEN 0 AND 2),
               avg(coalesce(churned, 0)) FILTER (WHERE tenure BETWEEN 3 AND 9)
        FROM lines LEFT JOIN ch USING (subscriber_id, month)""").fetchone()
    assert mid > 3 * early


def test_arrears_path_deregisters_about_three_months_after_leaving(db):
    rows = q(
        db,
        """
        SELECT date_diff('month', t.left_month, date_trunc('month', e.event_time)) AS lag, count(*)
        FROM truth t JOIN status_event e USING (subscriber_id)
        WHERE e.event_type = 'deregister' AND e.reason = 'arrears' AND t.kind = 'offnet' GROUP BY 1""",
    )
    lags = dict(rows)
    assert sum(lags.values()) > 1000 and set(lags) == {3}
    # the truth says when it was recorded
    (bad,) = db.sql("""SELECT count(*) FROM truth t JOIN status_event e USING (subscriber_id)
        WHERE e.event_type = 'deregister' AND t.kind = 'offnet'
          AND date_trunc('month', e.event_time) <> t.recorded_month""").fetchone()
    assert bad == 0
    # one-way suspension for arrears in the month of leaving, then two-way and pre-deregistration
    (share,) = db.sql("""SELECT avg(((SELECT count(DISTINCT event_type) FROM status_event e
            WHERE e.subscriber_id = t.subscriber_id AND e.reason = 'arrears'
              AND e.event_type IN ('suspend_oneway', 'suspend_twoway', 'pre_deregister', 'deregister')) = 4)::INT)
        FROM truth t WHERE t.kind = 'offnet' AND t.recorded_month IS NOT NULL
          AND t.recorded_month > t.left_month AND t.left_month >= '2024-01-01'
          AND t.mechanism <> 'promotion_commission_fraud'
          AND t.reason_code <> 'fraud'""").fetchone()
    assert share > 0.99


def test_reactivated_lines_are_not_churners(db):
    (n_react, n_churn) = db.sql(f"""
        WITH r AS (SELECT DISTINCT subscriber_id, date_trunc('month', event_time) AS m FROM status_event
                   WHERE event_type = 'reactivate')
        SELECT count(*), count(t.subscriber_id) FROM r
        LEFT JOIN truth t ON t.subscriber_id = r.subscriber_id AND {OFFNET} AND t.left_month <= r.m""").fetchone()
    assert n_react > 200 and n_churn == 0


def test_number_reselection_keeps_the_certificate_within_days(db):
    rows = q(
        db,
        """
        SELECT o.customer_id = n.customer_id, date_diff('day', CAST(e.event_time AS DATE), n.activation_date)
        FROM truth t JOIN subscription o ON o.subscriber_id = t.subscriber_id
        JOIN subscription n ON n.subscriber_id = t.new_subscriber_id
        JOIN status_event e ON e.subscriber_id = t.subscriber_id AND e.event_type = 'deregister'
        WHERE t.kind = 'number_reselection'""",
    )
    assert len(rows) > 100
    assert all(same for same, _ in rows)
    assert all(0 <= days <= 7 for _, days in rows)
    (offnet,) = db.sql(f"""SELECT count(*) FROM truth a JOIN truth b USING (subscriber_id)
        WHERE a.kind IN ('number_reselection', 'tariff_reselection') AND b.{OFFNET}""").fetchone()
    assert offnet == 0


def test_tariff_reselection_keeps_the_handset_on_a_cheaper_package(db):
    rows = q(
        db,
        """
        WITH last_old AS (SELECT t.subscriber_id, t.new_subscriber_id, arg_max(u.imei, u.month) AS imei
                          FROM truth t JOIN usage_monthly u USING (subscriber_id)
                          WHERE t.kind = 'tariff_reselection' AND u.imei IS NOT NULL GROUP BY ALL),
        first_new AS (SELECT subscriber_id, arg_min(imei, month) AS imei FROM usage_monthly
                      WHERE imei IS NOT NULL GROUP BY ALL)
        SELECT o.imei = f.imei, co.certificate_no = cn.certificate_no, po.monthly_fee > pn.monthly_fee,
               date_diff('day', so.activation_date, sn.activation_date) >= 0
        FROM last_old o JOIN first_new f ON f.subscriber_id = o.new_subscriber_id
        JOIN subscription so ON so.subscriber_id = o.subscriber_id
        JOIN subscription sn ON sn.subscriber_id = o.new_subscriber_id
        JOIN customer co ON co.customer_id = so.customer_id JOIN customer cn ON cn.customer_id = sn.customer_id
        JOIN billing_monthly bo ON bo.subscriber_id = o.subscriber_id
             AND bo.month = (SELECT max(month) FROM billing_monthly b2 WHERE b2.subscriber_id = o.subscriber_id)
        JOIN package po ON po.package_id = bo.package_id JOIN package pn ON pn.package_id = sn.package_id""",
    )
    assert len(rows) > 200
    same_imei = np.mean([r[0] for r in rows])
    assert same_imei > 0.95
    assert not any(r[1] for r in rows)  # a different certificate (a relative's)
    assert np.mean([r[2] for r in rows]) > 0.9


def test_port_outs_name_the_destination_and_are_about_5_percent(db):
    (n_port, n_dest, other_dest) = db.sql("""SELECT count(*) FILTER (WHERE event_type = 'port_out'),
        count(destination_operator) FILTER (WHERE event_type = 'port_out'),
        count(destination_operator) FILTER (WHERE event_type <> 'port_out') FROM status_event""").fetchone()
    assert n_port > 100 and n_dest == n_port and other_dest == 0
    (share,) = db.sql(f"SELECT avg((kind = 'port_out')::INT) FROM truth WHERE {OFFNET}").fetchone()
    assert 0.03 < share < 0.08


def test_blackspot_grids_have_worse_network_and_higher_churn(db):
    rows = q(
        db,
        f"""
        WITH nq AS (SELECT grid_id, avg(drop_rate) AS drop_rate, avg(coverage_score) AS cov
                    FROM network_quality GROUP BY 1),
        ranked AS (SELECT *, row_number() OVER (ORDER BY drop_rate DESC) <= 4 AS worst FROM nq),
        act AS (SELECT s.grid_id, count(*) AS n FROM usage_monthly u JOIN subscription s USING (subscriber_id)
                WHERE u.active_days > 0 GROUP BY 1),
        ch AS (SELECT s.grid_id, count(*) AS c FROM truth t JOIN subscription s USING (subscriber_id)
               WHERE {OFFNET} AND t.left_month >= '2024-01-01' GROUP BY 1)
        SELECT worst, avg(drop_rate), avg(cov), sum(c) / sum(n)
        FROM ranked JOIN act USING (grid_id) JOIN ch USING (grid_id) GROUP BY 1 ORDER BY 1""",
    )
    (_, drop_ok, cov_ok, churn_ok), (_, drop_bad, cov_bad, churn_bad) = rows
    assert drop_bad > 3 * drop_ok and cov_bad < cov_ok - 15
    assert churn_bad > 1.3 * churn_ok
    (net_share_bad, net_share_ok) = db.sql("""
        WITH nq AS (SELECT grid_id, avg(drop_rate) AS d FROM network_quality GROUP BY 1),
        worst AS (SELECT grid_id FROM nq ORDER BY d DESC LIMIT 4)
        SELECT avg((i.topic = 'network')::INT) FILTER (WHERE s.grid_id IN (SELECT grid_id FROM worst)),
               avg((i.topic = 'network')::INT) FILTER (WHERE s.grid_id NOT IN (SELECT grid_id FROM worst))
        FROM interaction i JOIN subscription s USING (subscriber_id) WHERE i.kind = 'complaint'""").fetchone()
    assert net_share_bad > net_share_ok + 0.2


def test_offnet_churn_within_calibrated_band(db):
    rows = q(
        db,
        f"""
        WITH act AS (SELECT u.month, s.payment_type, count(*) AS n FROM usage_monthly u
                     JOIN subscription s USING (subscriber_id) WHERE u.active_days > 0 GROUP BY ALL),
        ch AS (SELECT t.left_month AS month, s.payment_type, count(*) AS c FROM truth t
               JOIN subscription s USING (subscriber_id) WHERE {OFFNET} GROUP BY ALL)
        SELECT month, sum(c) / sum(n), sum(c) FILTER (WHERE payment_type = 'prepaid')
               / sum(n) FILTER (WHERE payment_type = 'prepaid'),
               sum(c) FILTER (WHERE payment_type = 'postpaid') / sum(n) FILTER (WHERE payment_type = 'postpaid')
        FROM act JOIN ch USING (month, payment_type) GROUP BY 1 ORDER BY 1""",
    )
    assert len(rows) == 15
    for month, blended, _, _ in rows:
        assert 0.01 <= blended <= 0.035, (month, blended)
    pre = np.mean([r[2] for r in rows])
    post = np.mean([r[3] for r in rows])
    assert 1.7 < pre / post < 3.5


def test_usage_and_revenue_marginals_match_calibration(db):
    (arpu, dou_gb, mou) = db.sql("""SELECT avg(b.revenue), avg(u.data_mb) / 1024,
        avg(u.voice_in_min + u.voice_out_min) FROM billing_monthly b JOIN usage_monthly u USING (subscriber_id, month)
        WHERE u.active_days > 0 AND u.month < '2025-01-01'""").fetchone()
    assert 44 < arpu < 53 and 14 < dou_gb < 18 and 200 < mou < 245
    (ratio,) = db.sql("""SELECT avg(revenue) FILTER (WHERE p.is_5g) / avg(revenue) FILTER (WHERE NOT p.is_5g)
        FROM billing_monthly b JOIN package p USING (package_id) WHERE b.revenue > 0""").fetchone()
    assert 1.4 < ratio < 2.2
    (feb,) = db.sql("""SELECT avg(data_mb) FILTER (WHERE month = '2024-02-01')
        / avg(data_mb) FILTER (WHERE month = '2024-01-01') FROM usage_monthly WHERE active_days > 0""").fetchone()
    assert 0.75 < feb < 0.9
    (new_lines,) = db.sql("""SELECT min(n) FROM (SELECT date_trunc('month', activation_date) m, count(*) n
        FROM subscription WHERE activation_date >= '2024-01-01' GROUP BY 1)""").fetchone()
    assert new_lines > 500


def test_competitor_push_raises_competitor_share_before_churn(db):
    rows = q(
        db,
        """
        SELECT strftime(u.month, '%Y-%m'), sum(competitor_min) / sum(onnet_min + offnet_min + competitor_min)
        FROM usage_monthly u JOIN subscription s USING (subscriber_id) JOIN region r USING (grid_id)
        WHERE r.county_id = 'YC04' AND u.active_days > 0 GROUP BY 1 ORDER BY 1""",
    )
    share = dict(rows)
    assert share["2024-04"] > share["2024-01"] + 0.03  # ramps up before the push (May–July)
    push = dict(
        q(
            db,
            """SELECT strftime(left_month, '%Y-%m'), count(*) FROM truth
                         WHERE mechanism = 'competitor_push' GROUP BY 1""",
        )
    )
    assert set(push) >= {"2024-05", "2024-06", "2024-07"}
    assert not set(push) & {"2024-01", "2024-02", "2024-03", "2024-04"}
    (dest,) = db.sql("""SELECT avg((e.destination_operator = 'LY')::INT) FROM truth t JOIN status_event e
        USING (subscriber_id) JOIN subscription s USING (subscriber_id) JOIN region r USING (grid_id)
        WHERE t.mechanism = 'competitor_push' AND e.event_type = 'port_out' AND r.county_id = 'YC04'""").fetchone()
    assert dest == 1.0


def test_unresolved_complaints_precede_complaint_churn(db):
    (share,) = (
        db.sql("""SELECT avg(((SELECT count(*) FROM interaction i WHERE i.subscriber_id = t.subscriber_id
            AND i.kind = 'complaint' AND NOT i.resolved AND i.interaction_time < t.left_month
            AND i.interaction_time >= t.left_month - INTERVAL 6 MONTH) > 0)::INT)
        FROM truth t WHERE t.mechanism = 'unresolved_complaint' AND t.left_month >= '2024-07-01'""").fetchone()
    )
    assert share > 0.95


def test_early_warning_signals_are_present_but_noisy(db):
    rows = q(
        db,
        f"""
        WITH u AS (SELECT subscriber_id, month, data_mb + 10 * (voice_in_min + voice_out_min) AS use
                   FROM usage_monthly),
        feat AS (SELECT a.subscriber_id, (a.use + 1) / (b.use + 1) AS ratio
                 FROM u a JOIN u b ON a.subscriber_id = b.subscriber_id AND b.month = a.month - INTERVAL 3 MONTH
                 WHERE a.month = '2024-09-01' AND b.use > 0),
        lab AS (SELECT subscriber_id, 1 AS y FROM truth WHERE {OFFNET}
                AND left_month = '2024-10-01')
        SELECT ratio, coalesce(y, 0) FROM feat LEFT JOIN lab USING (subscriber_id)""",
    )
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    assert y.sum() > 300
    ranks = np.argsort(np.argsort(-x)) + 1  # score = falling usage: the lowest ratio ranks highest
    pos, neg = y.sum(), (y == 0).sum()
    auc = (ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg)
    assert 0.6 < auc < 0.92, auc


def test_brand_downgrade_moves_premium_lines_to_budget_packages(db):
    rows = q(
        db,
        """
        SELECT pn.brand, t.kind IS NOT NULL FROM status_event e JOIN package pn ON pn.package_id = e.package_id
        LEFT JOIN truth t ON t.subscriber_id = e.subscriber_id AND t.kind = 'brand_downgrade'
        WHERE e.event_type = 'package_change' AND e.reason = 'downgrade'""",
    )
    assert len(rows) > 100 and all(b == "budget" and has for b, has in rows)
    (switched,) = db.sql("""SELECT avg((b.package_id = e.package_id)::INT) FROM status_event e
        JOIN billing_monthly b ON b.subscriber_id = e.subscriber_id
             AND b.month = date_trunc('month', e.event_time) + INTERVAL 1 MONTH
        WHERE e.event_type = 'package_change' AND e.reason = 'downgrade'""").fetchone()
    assert switched > 0.95


def test_value_decline_and_silent_lines_stay_open(db):
    (ratio,) = db.sql("""
        WITH d AS (SELECT subscriber_id, left_month FROM truth WHERE kind = 'value_decline'
                   AND left_month BETWEEN '2024-04-01' AND '2024-10-01'),
        x AS (SELECT d.subscriber_id,
                avg(b.revenue) FILTER (WHERE b.month < d.left_month) AS before,
                avg(b.revenue) FILTER (WHERE b.month >= d.left_month + INTERVAL 2 MONTH) AS after
              FROM d JOIN billing_monthly b USING (subscriber_id) GROUP BY 1)
        SELECT median(after / before) FROM x WHERE before > 0 AND after IS NOT NULL""").fetchone()
    assert ratio < 0.6
    (active_after, closed) = db.sql("""
        SELECT sum(u.active_days), count(e.subscriber_id) FROM truth t
        JOIN usage_monthly u ON u.subscriber_id = t.subscriber_id AND u.month > t.left_month
        LEFT JOIN status_event e ON e.subscriber_id = t.subscriber_id AND e.event_type IN ('deregister', 'port_out')
        WHERE t.kind = 'silent'""").fetchone()
    assert active_after == 0 and closed == 0


def test_retention_campaign_is_randomised_with_a_control_group(db):
    (n, control, control_contacted, offers_in_control) = db.sql("""SELECT count(*), avg(is_control::INT),
        count(*) FILTER (WHERE is_control AND contacted), count(offer_id) FILTER (WHERE is_control)
        FROM contact""").fetchone()
    assert n > 1000 and 0.15 < control < 0.25 and control_contacted == 0 and offers_in_control == 0
    (outcomes, contacted, uncontacted_outcomes) = db.sql("""SELECT count(*), (SELECT count(*) FROM contact
        WHERE contacted), count(*) FILTER (WHERE NOT c.contacted) FROM outcome o JOIN contact c USING (contact_id)""").fetchone()
    assert outcomes == contacted and uncontacted_outcomes == 0
    arms = dict(
        q(
            db,
            "SELECT coalesce(offer_id, 'control'), count(*) FROM contact WHERE campaign_id = 'RC01' GROUP BY 1",
        )
    )
    assert set(arms) == {"control", "OF01", "OF02", "OF03"}


def test_survey_ratings_follow_network_quality(db):
    (bad, ok) = db.sql("""
        WITH nq AS (SELECT grid_id, avg(drop_rate) AS d FROM network_quality GROUP BY 1),
        worst AS (SELECT grid_id FROM nq ORDER BY d DESC LIMIT 4)
        SELECT avg(rating_data) FILTER (WHERE s.grid_id IN (SELECT grid_id FROM worst)),
               avg(rating_data) FILTER (WHERE s.grid_id NOT IN (SELECT grid_id FROM worst))
        FROM survey_response r JOIN subscription s USING (subscriber_id)""").fetchone()
    assert bad < ok - 1.5


def test_every_closed_number_has_a_truth_row(db):
    (unexplained,) = db.sql("""SELECT count(*) FROM status_event e
        LEFT JOIN truth t ON t.subscriber_id = e.subscriber_id
             AND t.kind IN ('offnet', 'port_out', 'number_reselection', 'tariff_reselection')
        WHERE e.event_type IN ('deregister', 'port_out') AND t.subscriber_id IS NULL""").fetchone()
    assert unexplained == 0


@pytest.mark.parametrize(
    "kind",
    [
        "offnet",
        "port_out",
        "number_reselection",
        "tariff_reselection",
        "brand_downgrade",
        "value_decline",
        "silent",
    ],
)
def test_every_churn_kind_occurs(db, kind):
    (n,) = db.sql(f"SELECT count(*) FROM truth WHERE kind = '{kind}'").fetchone()
    assert n > 50
