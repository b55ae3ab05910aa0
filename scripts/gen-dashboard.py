#!/usr/bin/env python3
"""Writes deploy/grafana/scim-sidecar.json, the Grafana dashboard for the sidecar's own metrics.

The dashboard is generated so that its dozens of panels share one shape; edit this file, run
`python3 scripts/gen-dashboard.py`, and commit both. `scripts/check-deploy.sh` fails when the
committed JSON differs from what this script writes, and checks that every metric the panels
query is one the sidecar exports (or Prometheus' own `up`).

Every `scim_sidecar_*` name below is one `src/metrics.rs` registers, every `process_*` one
`src/metrics/process.rs` reports. Counters are exported with
the `_total` suffix, histograms as `_bucket`/`_sum`/`_count` (prometheus-client, OpenMetrics).
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "scim-sidecar.json"

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'


class Layout:
    """Places panels left to right in a 24-column grid, rows of a fixed height."""

    def __init__(self):
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1
        self.panels = []

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        if self.x:
            self.y += self.row_h
            self.x = 0
        self.panels.append(
            {
                "type": "row",
                "id": self._id(),
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1
        self.row_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def targets(*exprs):
    """Query targets; each expr is (promql, legend)."""
    out = []
    for i, (expr, legend) in enumerate(exprs):
        out.append(
            {
                "datasource": DS,
                "expr": expr,
                "legendFormat": legend,
                "range": True,
                "refId": chr(ord("A") + i),
            }
        )
    return out


def timeseries(title, description, exprs, unit="short", stack=False, min_zero=True):
    custom = {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    defaults = {"unit": unit, "custom": custom}
    if min_zero:
        defaults["min"] = 0
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets(*exprs),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


POLICY_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "1": {"text": "satisfied", "color": "green", "index": 0},
            "0": {"text": "VIOLATED", "color": "red", "index": 1},
            "-1": {"text": "undetermined", "color": "orange", "index": 2},
        },
    }
]


def stat(title, description, exprs, unit="short", mappings=None, thresholds=None, instant=True):
    t = targets(*exprs)
    for q in t:
        q["instant"] = instant
        q["range"] = not instant
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": t,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "mappings": mappings or [],
                "thresholds": thresholds
                or {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }


def rate(metric, by, extra=""):
    sel = SEL + (", " + extra if extra else "")
    return f"sum by ({by}) (rate({metric}{{{sel}}}[$__rate_interval]))"


def quantiles(route_matcher, by=""):
    by_clause = f"le, {by}" if by else "le"
    legend_by = f" {{{{{by}}}}}" if by else ""
    return [
        (
            f"histogram_quantile({q}, sum by ({by_clause}) (rate("
            f"scim_sidecar_http_request_duration_seconds_bucket{{{SEL}, {route_matcher}}}"
            f"[$__rate_interval])))",
            f"p{int(q * 100)}{legend_by}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def build():
    L = Layout()

    L.row("Overview")
    L.add(
        stat(
            "Sidecars up",
            "Scrape targets of the selected job that answered the last scrape (Prometheus' own `up`).",
            [(f'sum(up{{{SEL}}})', "up")],
            thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
        ),
        3,
        5,
    )
    L.add(
        stat(
            "Policy",
            "Worst state of each policy check over the selected sidecars: 1 satisfied, 0 violated, "
            "-1 undetermined (Grafana unreachable or slower than [policy] check_timeout). While an asked "
            "check is not satisfied SCIM answers 403 (a Team Sync conflict refuses /Groups only). "
            "Checks the configuration does not ask for report 1.",
            [(f"min by (check) (scim_sidecar_policy_state{{{SEL}}})", "{{check}}")],
            mappings=POLICY_MAPPINGS,
            thresholds={
                "mode": "absolute",
                "steps": [
                    {"color": "orange", "value": None},
                    {"color": "red", "value": 0},
                    {"color": "green", "value": 1},
                ],
            },
        ),
        6,
        5,
    )
    L.add(
        stat(
            "Version",
            "Versions of the selected sidecars (scim_sidecar_build_info) and how many run each.",
            [(f"count by (version) (scim_sidecar_build_info{{{SEL}}})", "{{version}}")],
        ),
        3,
        5,
    )
    L.add(
        stat(
            "SCIM operations (range)",
            "SCIM operations in the selected time range, all outcomes.",
            [(f"sum(increase(scim_sidecar_scim_operations_total{{{SEL}}}[$__range]))", "operations")],
        ),
        4,
        5,
    )
    L.add(
        stat(
            "SCIM server errors (range)",
            "SCIM operations answered with a 5xx in the selected time range (outcome `error`).",
            [
                (
                    f'sum(increase(scim_sidecar_scim_operations_total{{{SEL}, outcome="error"}}[$__range]))',
                    "errors",
                )
            ],
            thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]},
        ),
        4,
        5,
    )
    L.add(
        stat(
            "Login gate refusals (range)",
            "SAML logins the gate refused in the selected time range (every kind but `forwarded`).",
            [
                (
                    f'sum(increase(scim_sidecar_saml_gate_decisions_total{{{SEL}, kind!="forwarded"}}[$__range]))',
                    "refused",
                )
            ],
            thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}]},
        ),
        4,
        5,
    )

    L.row("SCIM")
    L.add(
        timeseries(
            "SCIM operations by outcome",
            "Per second, by resource (`User`, `Group`) and outcome: `ok`; `refused` (a 4xx: "
            "policy, authority, uniqueness, bad request); `error` (a 5xx: Grafana or the store failed); "
            "`last_admin_kept` (a deactivation that left Grafana's last org admin in place).",
            [(rate("scim_sidecar_scim_operations_total", "resource, outcome"), "{{resource}} {{outcome}}")],
            unit="ops",
            stack=True,
        ),
        12,
        8,
    )
    L.add(
        timeseries(
            "SCIM operations by kind",
            "Per second, by resource and operation (list, get, create, replace, patch, delete, search).",
            [(rate("scim_sidecar_scim_operations_total", "resource, operation"), "{{resource}} {{operation}}")],
            unit="ops",
            stack=True,
        ),
        12,
        8,
    )
    L.add(
        timeseries(
            "SCIM latency",
            "Time to response headers of SCIM requests (route class `scim`), including the Grafana calls "
            "and store work each one makes.",
            quantiles('route="scim"'),
            unit="s",
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "SCIM responses by status",
            "SCIM HTTP answers per second by status code. 401: wrong or missing token; 403: policy or "
            "authority; 409: uniqueness; 412: If-Match; 5xx: Grafana or the store failed.",
            [(rate("scim_sidecar_http_requests_total", "status", 'route="scim"'), "{{status}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "SCIM error ratio",
            "Share of SCIM operations that ended in a 5xx (outcome `error`). The alert "
            "ScimSidecarScimErrors fires above 5% for 10 minutes.",
            [
                (
                    f'sum(rate(scim_sidecar_scim_operations_total{{{SEL}, outcome="error"}}[$__rate_interval]))'
                    f" / sum(rate(scim_sidecar_scim_operations_total{{{SEL}}}[$__rate_interval]))",
                    "error ratio",
                )
            ],
            unit="percentunit",
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Policy refusals",
            "SCIM requests refused (403) because a policy check was violated or undetermined, by check.",
            [(rate("scim_sidecar_policy_refusals_total", "check"), "{{check}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Policy state",
            "Each check over time: 1 satisfied, 0 violated, -1 undetermined (worst over the selected sidecars).",
            [(f"min by (check) (scim_sidecar_policy_state{{{SEL}}})", "{{check}}")],
            min_zero=False,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Deferred updates and normalised shapes",
            "Deferred: user updates Grafana refused for SAML users (applied at their next login). "
            "Shapes: vendor PATCH shapes the normaliser rewrote, by shape.",
            [
                (f"sum(rate(scim_sidecar_scim_deferred_updates_total{{{SEL}}}[$__rate_interval]))", "deferred updates"),
                (rate("scim_sidecar_scim_normalised_shapes_total", "kind"), "shape {{kind}}"),
            ],
            unit="ops",
        ),
        8,
        8,
    )

    L.row("Grafana")
    L.add(
        timeseries(
            "Grafana API calls by route and outcome",
            "Grafana API calls the sidecar makes itself (SCIM translation, policy, guards, login "
            "gate), by route (ids and names replaced) and outcome: ok, client_error, server_error, "
            "timeout, transport (scim_sidecar_grafana_calls_total). Proxied requests are not here.",
            [(rate("scim_sidecar_grafana_calls_total", "kind, outcome"), "{{kind}} {{outcome}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Upstream errors",
            "Proxied requests Grafana did not answer, by kind: `connect` (502, Grafana unreachable), "
            "`timeout` (504, no response headers within [grafana] request_timeout or connect_timeout), "
            "`broken` (502, the connection failed mid-request).",
            [(rate("scim_sidecar_upstream_errors_total", "kind"), "{{kind}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Gateway answers (502/504)",
            "Answers the sidecar made up because Grafana could not be reached or did not answer in time, "
            "by route class.",
            [
                (
                    rate("scim_sidecar_http_requests_total", "route, status", 'status=~"502|504"'),
                    "{{route}} {{status}}",
                )
            ],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )

    L.row("Guards and login gate")
    L.add(
        timeseries(
            "Guard refusals by kind",
            "Passthrough writes refused: `user`, `team` (an edit of a SCIM-managed user or team), "
            "`collection` (a bulk delete in the identity API), `unreadable` (a body a guard cannot check), "
            "`user_unknown`, `team_unknown` (the store or Grafana could not say whether the object is "
            "managed), `team_sync_link`, `saml_disable` (policy guard).",
            [(rate("scim_sidecar_guard_refusals_total", "kind"), "{{kind}}")],
            unit="reqps",
            stack=True,
        ),
        12,
        8,
    )
    L.add(
        timeseries(
            "SAML login gate decisions",
            "POST /saml/acs decisions: `forwarded` (passed to Grafana), `externalid_mismatch`, "
            "`deactivated`, `not_provisioned`, `invalid` (the response failed verification), "
            "`unavailable` (the gate could not decide, e.g. no IdP metadata: nobody signs in).",
            [(rate("scim_sidecar_saml_gate_decisions_total", "kind"), "{{kind}}")],
            unit="reqps",
            stack=True,
        ),
        12,
        8,
    )

    L.row("Proxy traffic")
    L.add(
        timeseries(
            "Requests by route class",
            "Everything the public listener answered, by route class: `proxy`, `websocket` (handshakes), "
            "`scim`, `saml_acs`, `guard` (writes that went through the guards).",
            [(rate("scim_sidecar_http_requests_total", "route"), "{{route}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Proxied responses by status",
            "Proxied requests (route class `proxy`) by status: Grafana's own status, or 502/504 when the "
            "sidecar answered for it.",
            [(rate("scim_sidecar_http_requests_total", "status", 'route="proxy"'), "{{status}}")],
            unit="reqps",
            stack=True,
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Proxy latency",
            "Time to response headers of proxied requests (route class `proxy`): Grafana's time plus the "
            "sidecar's.",
            quantiles('route="proxy"'),
            unit="s",
        ),
        8,
        8,
    )

    L.row("Process")
    L.add(
        timeseries(
            "Memory",
            "Resident set size of each sidecar process (process_resident_memory_bytes, read from "
            "/proc/self/status at each scrape).",
            [(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}} rss")],
            unit="bytes",
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "CPU",
            "CPU seconds per second (user + system) of each sidecar process.",
            [(f"rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval])", "{{instance}}")],
            unit="percentunit",
        ),
        8,
        8,
    )
    L.add(
        timeseries(
            "Open file descriptors",
            "Open file descriptors (client and Grafana connections, the store) against the soft limit.",
            [
                (f"process_open_fds{{{SEL}}}", "{{instance}} open"),
                (f"process_max_fds{{{SEL}}}", "{{instance}} limit"),
            ],
        ),
        8,
        8,
    )

    def var(name, label, query, include_all=True):
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "query": {"query": query, "refId": "vars"},
            "definition": query,
            "refresh": 2,
            "includeAll": include_all,
            "multi": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1,
        }

    return {
        "__inputs": [],
        "annotations": {"list": []},
        "description": "scim-sidecar: SCIM provisioning, policy, guards, SAML login gate and proxy traffic "
        "in front of Grafana. Metrics from the sidecar's admin listener (/metrics).",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": L.panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["scim", "grafana", "scim-sidecar"],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                },
                var("job", "Job", "label_values(scim_sidecar_http_requests_total, job)"),
                var(
                    "instance",
                    "Instance",
                    'label_values(scim_sidecar_http_requests_total{job=~"$job"}, instance)',
                ),
            ]
        },
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "scim-sidecar",
        "uid": "scim-sidecar",
        "version": 1,
    }


def render():
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is not what scripts/gen-dashboard.py writes: run it and commit the result")
        print(f"{OUT.name}: up to date with scripts/gen-dashboard.py")
    else:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text)
        print(f"wrote {OUT}")
