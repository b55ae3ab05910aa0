#!/usr/bin/env python3
"""Checks the deployment kit under deploy/ (called by scripts/check-deploy.sh, which installs
what this needs: PyYAML, kubernetes-validate).

Subcommands, each exiting non-zero on the first file with problems after listing them all:

  metrics DUMP     every metric the dashboard and the alert rules query is in DUMP (a /metrics
                   text exposition of the sidecar), or one of the few external metrics named in
                   EXTERNAL below
  kubernetes       deploy/kubernetes/*.yaml against the Kubernetes schemas (strict), plus the
                   invariants the comments promise (probes, ports, grace periods, service links)
  helm             deploy/helm/grafana-values.yaml: the pod the grafana chart renders from it,
                   approximated (the chart's Grafana container with these values' probes, ports
                   and hooks, plus extraContainers and extraContainerVolumes), against the schemas,
                   plus the same invariants
  configs OUTDIR   writes every sidecar configuration the kit ships (TOML files and environment
                   sets) into OUTDIR as <name>.toml + <name>.env, with secret files redirected to
                   OUTDIR, for `scim-sidecar check-config` to judge
"""

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S_VERSIONS = ["1.29.0", "1.33.0"]

# Metrics the dashboard and rules may name that the sidecar does not export itself.
EXTERNAL = {
    "up": "Prometheus: the scrape target answered",
}

PROMQL_WORDS = {
    # aggregations, functions and keywords that look like identifiers
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "absent", "absent_over_time", "abs", "ceil", "floor", "round",
    "clamp", "clamp_min", "clamp_max", "label_replace", "label_join", "vector", "scalar", "time",
    "timestamp", "sort", "sort_desc", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "last_over_time", "changes", "resets", "predict_linear",
    "inf", "nan", "label_values", "humanize", "humanizePercentage",
}


def fail(problems):
    for p in problems:
        print(f"  FAIL {p}")
    if problems:
        sys.exit(1)


# === metrics ===


def promql_metric_names(expr):
    """Metric names in a PromQL expression (or a Grafana label_values() query)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges
    e = re.sub(r"\$\w+", "", e)  # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word in PROMQL_WORDS:
            continue
        # the label of label_values(metric, label)
        if re.search(r",\s*" + re.escape(word) + r"\s*\)", e) and "label_values" in e:
            continue
        names.add(word)
    return names


def dashboard_exprs(path):
    d = json.loads(path.read_text())
    out = []
    for p in d["panels"]:
        for t in p.get("targets", []):
            out.append((f'panel "{p["title"]}"', t["expr"]))
    for v in d["templating"]["list"]:
        q = v.get("query")
        if isinstance(q, dict):
            out.append((f'variable "{v["name"]}"', q["query"]))
    return out


def rules_exprs(path):
    doc = yaml.safe_load(path.read_text())
    return [(f'rule "{r.get("alert") or r.get("record")}"', r["expr"]) for g in doc["groups"] for r in g["rules"]]


def exported_names(dump):
    """Sample names a /metrics text exposition can produce, from its TYPE lines and samples."""
    names = set()
    for line in dump.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            base, kind = m.groups()
            if kind == "counter":
                names |= {base + "_total", base + "_created"}
            elif kind == "histogram":
                names |= {base + "_bucket", base + "_sum", base + "_count", base + "_created"}
            elif kind in ("gauge", "unknown", "info", "stateset", "gaugehistogram", "summary"):
                names |= {base, base + "_info", base + "_sum", base + "_count"}
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def check_metrics(dump_path):
    exported = exported_names(Path(dump_path).read_text())
    sidecar = sorted(n for n in exported if n.startswith("scim_sidecar_"))
    print(f"  {len(sidecar)} sample names exported by the sidecar's families")
    problems, used = [], {}
    sources = [("deploy/grafana/scim-sidecar.json", dashboard_exprs(DEPLOY / "grafana" / "scim-sidecar.json")),
               ("deploy/prometheus/alerts.yaml", rules_exprs(DEPLOY / "prometheus" / "alerts.yaml"))]
    for file, exprs in sources:
        for where, expr in exprs:
            for name in promql_metric_names(expr):
                used.setdefault(name, set()).add(file)
                if name in exported:
                    continue
                if name in EXTERNAL:
                    continue
                problems.append(f"{file} {where}: metric {name} is not exported by the sidecar")
    for name in sorted(used):
        origin = "sidecar" if name in exported else f"external ({EXTERNAL.get(name, '?')})"
        print(f"  {name:55} {origin}")
    fail(problems)
    print(f"  ok: all {len(used)} metric names used are exported or declared external")


# === kubernetes ===


def validate(resource, where, problems):
    import kubernetes_validate

    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except Exception as e:  # ValidationError, SchemaNotFoundError, ...
            msg = getattr(e, "message", str(e))
            path = "/".join(str(p) for p in getattr(e, "path", []))
            problems.append(f"{where} (Kubernetes {version}): {msg} at {path}")


def sidecar_toml_listen_port(toml_text, section):
    cfg = tomllib.loads(toml_text)
    return int(cfg[section]["listen"].rsplit(":", 1)[1]), cfg


def duration_seconds(text):
    m = re.fullmatch(r"\s*(\d+)\s*s\s*", text)
    if not m:
        raise ValueError(f"cannot read duration {text!r} (write it in seconds)")
    return int(m.group(1))


def prestop_sleep(container):
    cmd = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    return int(cmd[-1]) if cmd and cmd[0].endswith("sleep") else 0


def probe_ports(container):
    ports = {}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        p = container.get(kind)
        if p and "httpGet" in p:
            ports[kind] = (p["httpGet"]["port"], p["httpGet"]["path"])
    return ports


def resolve_port(pod_spec, port):
    """A probe's port, named or numbered, as a number on the pod (names from any container)."""
    if isinstance(port, int):
        return port
    for c in pod_spec["containers"]:
        for p in c.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
    raise ValueError(f"no container declares a port named {port}")


def check_pod(pod_spec, toml_text, grace, where, problems, grafana_env=None, grafana_ini=None):
    """The invariants both recipes promise, on a pod spec and the sidecar's TOML."""
    by_name = {c["name"]: c for c in pod_spec["containers"]}
    sidecar, grafana = by_name.get("scim-sidecar"), by_name.get("grafana")
    if not sidecar or not grafana:
        problems.append(f"{where}: the pod needs containers scim-sidecar and grafana")
        return
    if pod_spec.get("enableServiceLinks") is not False:
        problems.append(f"{where}: enableServiceLinks must be false (SIDECAR_* service-link variables)")
    public, cfg = sidecar_toml_listen_port(toml_text, "server")
    admin, _ = sidecar_toml_listen_port(toml_text, "admin")
    for listen in (cfg["server"]["listen"], cfg["admin"]["listen"]):
        if not listen.startswith("0.0.0.0:"):
            problems.append(f"{where}: sidecar listens on {listen}, which kubelet probes and the Service cannot reach")
    if not cfg["grafana"]["url"].startswith("http://127.0.0.1:"):
        problems.append(f"{where}: [grafana] url should be Grafana on loopback, is {cfg['grafana']['url']}")
    # Grafana on loopback, on the port the sidecar uses.
    gport = int(cfg["grafana"]["url"].rsplit(":", 1)[1].split("/")[0])
    if grafana_env is not None:
        if grafana_env.get("GF_SERVER_HTTP_ADDR") != "127.0.0.1":
            problems.append(f"{where}: Grafana must listen on 127.0.0.1 (GF_SERVER_HTTP_ADDR)")
        if int(grafana_env.get("GF_SERVER_HTTP_PORT", "3000")) != gport:
            problems.append(f"{where}: Grafana's port differs from the sidecar's [grafana] url")
    if grafana_ini is not None:
        srv = grafana_ini.get("server", {})
        if srv.get("http_addr") != "127.0.0.1" or int(srv.get("http_port", 3000)) != gport:
            problems.append(f"{where}: grafana.ini [server] must listen on 127.0.0.1:{gport}")
        if not srv.get("root_url"):
            problems.append(f"{where}: grafana.ini [server] root_url must be the sidecar's public URL")
    # Probes: the sidecar's on its admin port; Grafana's through the sidecar's public port.
    for kind, (port, path) in probe_ports(sidecar).items():
        if resolve_port(pod_spec, port) != admin or path not in ("/healthz", "/readyz"):
            problems.append(f"{where}: sidecar {kind} should GET /healthz or /readyz on {admin}")
    if "livenessProbe" not in sidecar or "readinessProbe" not in sidecar:
        problems.append(f"{where}: the sidecar needs liveness and readiness probes")
    gprobes = probe_ports(grafana)
    if "livenessProbe" not in gprobes:
        problems.append(f"{where}: Grafana needs a liveness probe")
    for kind, (port, path) in gprobes.items():
        if resolve_port(pod_spec, port) != public:
            problems.append(f"{where}: Grafana's {kind} must go through the sidecar ({public}), "
                            f"Grafana on loopback is unreachable to the kubelet")
    # Shutdown: preStop + shutdown_grace within the grace period, Grafana outliving the drain.
    drain = duration_seconds(cfg["server"].get("shutdown_grace", "30s"))
    s_sleep, g_sleep = prestop_sleep(sidecar), prestop_sleep(grafana)
    if s_sleep == 0:
        problems.append(f"{where}: the sidecar needs a preStop sleep")
    if s_sleep + drain >= grace:
        problems.append(f"{where}: preStop {s_sleep}s + shutdown_grace {drain}s must stay below the grace period {grace}s")
    if g_sleep < s_sleep + drain:
        problems.append(f"{where}: Grafana's preStop ({g_sleep}s) should outlast the sidecar's drain ({s_sleep + drain}s)")
    print(f"  {where}: sidecar {public}/{admin}, Grafana on 127.0.0.1:{gport}; "
          f"shutdown {s_sleep}s + {drain}s < {grace}s, Grafana stops after {g_sleep}s")


def check_kubernetes():
    problems = []
    docs = {}
    for f in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        if f.name == "kustomization.yaml":
            kust = yaml.safe_load(f.read_text())
            continue
        for i, doc in enumerate(yaml.safe_load_all(f.read_text())):
            if doc is None:
                continue
            validate(doc, f"{f.name}#{i} {doc['kind']}/{doc['metadata']['name']}", problems)
            docs[(doc["kind"], doc["metadata"]["name"])] = doc
            print(f"  {f.name}: {doc['kind']}/{doc['metadata']['name']} valid against {', '.join(K8S_VERSIONS)} (strict)")
    listed = set(kust["resources"])
    present = {f.name for f in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    if listed != present:
        problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(present)}")
    dep = docs[("Deployment", "grafana")]
    pod = dep["spec"]["template"]["spec"]
    toml_text = docs[("ConfigMap", "scim-sidecar")]["data"]["sidecar.toml"]
    genv = {e["name"]: e.get("value") for c in pod["containers"] if c["name"] == "grafana" for e in c.get("env", [])}
    check_pod(pod, toml_text, pod.get("terminationGracePeriodSeconds", 30), "deployment.yaml", problems, grafana_env=genv)
    # The Service reaches the sidecar's public port.
    svc = docs[("Service", "grafana")]
    public, _ = sidecar_toml_listen_port(toml_text, "server")
    for p in svc["spec"]["ports"]:
        if resolve_port(pod, p["targetPort"]) != public:
            problems.append(f"service.yaml: port {p['port']} must target the sidecar ({public})")
    sel = svc["spec"]["selector"]
    if any(pod_labels := dep["spec"]["template"]["metadata"]["labels"]) and not all(pod_labels.get(k) == v for k, v in sel.items()):
        problems.append("service.yaml: the selector does not select the Deployment's pods")
    fail(problems)
    print("  ok: Kubernetes manifests")


# === helm ===


def check_helm():
    problems = []
    values = yaml.safe_load((DEPLOY / "helm" / "grafana-values.yaml").read_text())
    extra = yaml.safe_load(values["extraContainers"])
    if "{{" in values["extraContainers"]:
        problems.append("extraContainers is rendered with tpl: keep it free of {{ }}")
    target = values["service"]["targetPort"]
    # The chart's Grafana container: its one declared port is named "grafana" with
    # service.targetPort as number (the Service targets that name), its probes and preStop
    # come from these values.
    grafana = {
        "name": "grafana",
        "image": f"{values['image']['repository']}:12.1.0",
        "ports": [{"name": "grafana", "containerPort": target, "protocol": "TCP"}],
        "readinessProbe": values["readinessProbe"],
        "livenessProbe": values["livenessProbe"],
        "lifecycle": values["lifecycleHooks"],
        "volumeMounts": [{"name": "storage", "mountPath": "/var/lib/grafana"}],
    }
    volumes = [{"name": "storage", "persistentVolumeClaim": {"claimName": "grafana"}}] + values["extraContainerVolumes"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "grafana", "annotations": values.get("podAnnotations", {})},
        "spec": {
            "enableServiceLinks": values["enableServiceLinks"],
            "containers": [grafana] + extra,
            "volumes": volumes,
        },
    }
    validate(pod, "the chart's pod with these values", problems)
    print(f"  pod (Grafana container + {len(extra)} extra container(s), {len(volumes)} volumes) valid against {', '.join(K8S_VERSIONS)} (strict)")
    toml_text = None
    for obj in values.get("extraObjects", []):
        validate(obj, f"extraObjects {obj['kind']}/{obj['metadata']['name']}", problems)
        print(f"  extraObjects {obj['kind']}/{obj['metadata']['name']} valid")
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "scim-sidecar":
            toml_text = obj["data"]["sidecar.toml"]
    public, _ = sidecar_toml_listen_port(toml_text, "server")
    if target != public:
        problems.append(f"service.targetPort {target} must be the sidecar's public port {public}")
    # The chart sets no terminationGracePeriodSeconds: Kubernetes' default, 30 s.
    check_pod(pod["spec"], toml_text, 30, "grafana-values.yaml", problems, grafana_ini=values["grafana.ini"])
    names = {v["name"] for v in volumes}
    for c in extra:
        for m in c.get("volumeMounts", []):
            if m["name"] not in names:
                problems.append(f"extraContainers {c['name']} mounts unknown volume {m['name']}")
    fail(problems)
    print("  ok: Helm values")


# === configs ===


def write_configs(outdir):
    """Every sidecar configuration the kit ships, as TOML + env files, secrets redirected."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    secrets = out / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "grafana-admin-password").write_text("a-grafana-password\n")
    (secrets / "scim-token").write_text("a-scim-token-0123456789abcdef\n")

    def redirect(text):
        for d in ("/run/secrets/scim-sidecar/", "/run/secrets/", "/run/credentials/scim-sidecar.service/"):
            text = text.replace(d, f"{secrets}/")
        return re.sub(r"sqlite:///var/lib/scim-sidecar/", f"sqlite://{out}/", text)

    def emit(name, toml_text, env):
        (out / f"{name}.toml").write_text(redirect(toml_text or ""))
        (out / f"{name}.env").write_text("".join(f"{k}={redirect(v)}\n" for k, v in env.items()))
        print(f"  {name}: {len(env)} environment variable(s)")

    k8s = {d["metadata"]["name"]: d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "configmap.yaml").read_text())}
    dep = yaml.safe_load((DEPLOY / "kubernetes" / "deployment.yaml").read_text())
    env = {e["name"]: e["value"] for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "scim-sidecar"
           for e in c.get("env", []) if e["name"] != "SIDECAR_CONFIG"}
    emit("kubernetes", k8s["scim-sidecar"]["data"]["sidecar.toml"], env)

    values = yaml.safe_load((DEPLOY / "helm" / "grafana-values.yaml").read_text())
    cm = next(o for o in values["extraObjects"] if o["kind"] == "ConfigMap")
    emit("helm", cm["data"]["sidecar.toml"], {})

    compose = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yaml").read_text())
    cenv = dict(compose["services"]["scim-sidecar"]["environment"])
    cenv["SIDECAR_STORE_URL"] = f"sqlite:///var/lib/scim-sidecar/compose.db"  # no PostgreSQL needed to judge
    emit("compose", "", {k: str(v) for k, v in cenv.items()})

    unit = (DEPLOY / "systemd" / "scim-sidecar.service").read_text()
    uenv = dict(re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M))
    uenv = {k: v.replace("%d/", "/run/credentials/scim-sidecar.service/") for k, v in uenv.items()}
    uenv = {k: v.replace("scim-tokens", "scim-token") for k, v in uenv.items()}
    emit("systemd", (DEPLOY / "systemd" / "sidecar.toml").read_text(), uenv)

    # The image's built-in file, with the compose-style secrets a `docker run` would add.
    emit("image", (DEPLOY / "docker" / "sidecar.toml").read_text(), {})


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "metrics":
        check_metrics(sys.argv[2])
    elif cmd == "kubernetes":
        check_kubernetes()
    elif cmd == "helm":
        check_helm()
    elif cmd == "configs":
        write_configs(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
