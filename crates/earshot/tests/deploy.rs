//! Every deployment artefact under `deploy/` parses and agrees with the
//! binary: command lines it accepts, configuration it loads, probes on the
//! ports and gRPC services it serves, endpoints that name real services.
//! (No container engine runs here, so this is what can be checked.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err
)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use clap::Parser as _;
use earshot::cli::Cli;
use earshot_kit::config::{Config, Overrides, ServiceKind};
use figment::providers::Env;
use serde_yaml_ng::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            let mut v: Value = serde::Deserialize::deserialize(d)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            // Compose's `<<: *anchor` merge keys.
            v.apply_merge().unwrap();
            v
        })
        .collect()
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for key in path.split('/') {
        cur = match key.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(key),
        }
        .unwrap_or_else(|| panic!("missing {path} (at {key})"));
    }
    cur
}

fn str_of<'a>(v: &'a Value, path: &str) -> &'a str {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        })
        .collect()
}

/// The services a command line runs, checked by the binary's own parser.
fn served(args: &[String]) -> Vec<ServiceKind> {
    let argv: Vec<String> = std::iter::once("earshot".to_owned())
        .chain(args.iter().cloned())
        .collect();
    Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?} is refused: {e}"));
    let i = args
        .iter()
        .position(|a| a == "--services")
        .expect("names its services");
    args[i + 1].split(',').map(|s| s.parse().unwrap()).collect()
}

/// Loads `toml` (if any) with `env` set, as the binary would.
fn load(toml: Option<&str>, env: &BTreeMap<String, String>) -> Config {
    let mut result = None;
    figment::Jail::expect_with(|jail| {
        for (k, v) in env {
            // A distinct prefix keeps the host's own EARSHOT_ variables out.
            let key = k.replacen("EARSHOT_", "EARSHOT_DEPLOYTEST_", 1);
            jail.set_env(key, v);
        }
        let file = toml.map(|t| {
            jail.create_file("earshot.toml", t).unwrap();
            PathBuf::from("earshot.toml")
        });
        let config = Config::load_from(
            file.as_deref(),
            &Overrides::default(),
            Env::prefixed("EARSHOT_DEPLOYTEST_").split("__"),
        )
        .map_err(|e| e.to_string())?;
        result = Some(config);
        Ok(())
    });
    result.unwrap()
}

#[test]
fn kubernetes_manifests_agree_with_the_binary() {
    let dir = deploy_dir().join("kubernetes");
    let kustomization = &docs(&dir.join("kustomization.yaml"))[0];
    let listed = strings(get(kustomization, "resources"));
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "kustomization lists every manifest");

    let mut objects = Vec::new();
    for file in &listed {
        objects.extend(docs(&dir.join(file)));
    }
    let of_kind = |kind: &str| -> Vec<&Value> {
        objects
            .iter()
            .filter(|o| str_of(o, "kind") == kind)
            .collect()
    };

    // The shared configuration loads, with the database URL from the Secret.
    let config_map = of_kind("ConfigMap")[0];
    let toml = str_of(config_map, "data/earshot.toml");
    let secret = of_kind("Secret")[0];
    let mut env = BTreeMap::new();
    env.insert(
        "EARSHOT_DATABASE__URL".to_owned(),
        str_of(secret, "stringData/database-url").to_owned(),
    );
    let config = load(Some(toml), &env);
    assert!(config.database.url.is_some());

    let services: BTreeMap<String, &Value> = of_kind("Service")
        .into_iter()
        .map(|s| (str_of(s, "metadata/name").to_owned(), s))
        .collect();
    let deployments = of_kind("Deployment");
    assert_eq!(deployments.len(), 4, "one Deployment per service");
    let mut seen = Vec::new();
    for d in deployments {
        let name = str_of(d, "metadata/name");
        let pod = get(d, "spec/template/spec");
        assert_eq!(
            get(pod, "securityContext/runAsNonRoot").as_bool(),
            Some(true)
        );
        let c = get(pod, "containers/0");
        let kinds = served(&strings(get(c, "args")));
        assert_eq!(kinds.len(), 1, "{name} runs one service");
        let kind = kinds[0];
        seen.push(kind);
        assert_eq!(name, format!("earshot-{kind}"));
        let port = get(c, "ports/0/containerPort").as_u64().unwrap();
        assert_eq!(
            port,
            u64::from(config.port(kind)),
            "{name} listens where config says"
        );
        assert_eq!(get(c, "readinessProbe/grpc/port").as_u64(), Some(port));
        assert_eq!(get(c, "livenessProbe/grpc/port").as_u64(), Some(port));
        assert_eq!(
            str_of(c, "readinessProbe/grpc/service"),
            earshot::spec(kind).service_names[0],
            "{name}'s readiness names the gRPC service it serves"
        );
        assert_eq!(
            get(c, "securityContext/readOnlyRootFilesystem").as_bool(),
            Some(true)
        );
        // The token secret is mounted where the config reads it.
        let secret_file = config.auth.hs256_secret_file.clone().unwrap();
        let mounts = get(c, "volumeMounts").as_sequence().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| secret_file.starts_with(str_of(m, "mountPath"))
                    && str_of(m, "name") == "secrets"),
            "{name} mounts the secret at {}",
            secret_file.display()
        );
        // Its Service exists and the others reach it through it.
        let service = services
            .get(name)
            .unwrap_or_else(|| panic!("no Service {name}"));
        assert_eq!(get(service, "spec/ports/0/port").as_u64(), Some(port));
        let endpoint = config.endpoint(kind);
        assert_eq!(
            endpoint,
            format!("http://{name}.earshot.svc:{port}"),
            "the endpoint names the Service"
        );
    }
    seen.sort();
    assert_eq!(seen, ServiceKind::ALL);
    for hpa in of_kind("HorizontalPodAutoscaler") {
        let target = str_of(hpa, "spec/scaleTargetRef/name");
        assert!(services.contains_key(target), "HPA targets {target}");
    }
    assert_eq!(of_kind("PodDisruptionBudget").len(), 4);
}

#[test]
fn compose_file_agrees_with_the_binary() {
    let compose = &docs(&deploy_dir().join("compose.yaml"))[0];
    let services = get(compose, "services").as_mapping().unwrap();
    let mut seen = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        if name == "postgres" {
            continue;
        }
        let kinds = served(&strings(get(svc, "command")));
        assert_eq!(kinds, [name.parse::<ServiceKind>().unwrap()]);
        seen.push(kinds[0]);
        let env: BTreeMap<String, String> = get(svc, "environment")
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap().to_owned(),
                    v.as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let config = load(None, &env);
        assert!(config.database.url.is_some(), "{name} is on PostgreSQL");
        for other in ServiceKind::ALL {
            let endpoint = config.endpoint(other);
            assert!(
                services.contains_key(Value::String(other.name().into())),
                "{endpoint} names a compose service"
            );
            assert_eq!(
                endpoint,
                format!("http://{other}:{}", config.port(other)),
                "{name} reaches {other} by its service name"
            );
        }
        let check = strings(get(svc, "healthcheck/test"));
        assert_eq!(check[0], "CMD");
        assert_eq!(check[1], "earshot");
        let argv: Vec<String> = std::iter::once("earshot".to_owned())
            .chain(check[2..].iter().cloned())
            .collect();
        Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    }
    seen.sort();
    assert_eq!(seen, ServiceKind::ALL);
}

#[test]
fn dockerfile_builds_a_small_non_root_image() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let froms = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(froms, 2, "multi-stage: build and runtime");
    assert!(text.contains("USER 10001"), "runs as an unprivileged user");
    assert!(text.contains("-slim"), "slim runtime base");
    assert!(text.contains("ENTRYPOINT [\"earshot\"]"));
    // The environment it sets is configuration the binary accepts.
    let mut env = BTreeMap::new();
    let mut in_env = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("ENV ") {
            in_env = true;
        }
        if in_env {
            for part in l
                .trim_start_matches("ENV ")
                .trim_end_matches('\\')
                .split_whitespace()
            {
                if let Some((k, v)) = part.split_once('=') {
                    env.insert(k.to_owned(), v.to_owned());
                }
            }
            in_env = l.ends_with('\\');
        }
    }
    assert!(env.len() >= 3, "{env:?}");
    let config = load(None, &env);
    assert!(
        config.server.host.is_unspecified(),
        "listens on all interfaces"
    );
    for line in text.lines().filter(|l| l.starts_with("HEALTHCHECK")) {
        let cmd = line.split("CMD").nth(1).unwrap();
        let args: Vec<String> = serde_json::from_str(cmd.trim()).unwrap();
        assert_eq!(args[0], "earshot");
        Cli::try_parse_from(&args).unwrap();
    }
}
