//! The audit trail of changes, as an operator receives it: the real binary
//! with JSON logs; every change (allowed or refused) is one `earshot::audit`
//! line naming the tenant, subject, roles, method and outcome; reads are not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use earshot_proto::sampling::v1::{self as pb, sampling_service_client::SamplingServiceClient};

fn token(dir: &std::path::Path, subject: &str, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["--data-dir"])
        .arg(dir)
        .args([
            "token",
            "--tenant",
            "acme",
            "--subject",
            subject,
            "--role",
            role,
        ])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn with_token<T>(token: &str, m: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(m);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test]
async fn changes_are_audited_with_who_what_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["serve", "--services", "sampling"])
        .env_remove("RUST_LOG")
        .env("EARSHOT_SAMPLING__PORT", "0")
        .env("EARSHOT_LOG__FORMAT", "json")
        .env(
            "EARSHOT_LOG__FILTER",
            "earshot::audit=info,earshot_kit::server=info,off",
        )
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let address = loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        lines.push(line);
        if v["message"] == "serving" {
            break v["address"].as_str().unwrap().to_owned();
        }
    };
    let admin = token(dir.path(), "maria", "admin");
    let agent = token(dir.path(), "alex", "agent");
    let mut c = SamplingServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let settings = c
        .get_settings(with_token(&admin, pb::GetSettingsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .settings;
    c.update_settings(with_token(
        &admin,
        pb::UpdateSettingsRequest {
            settings: settings.clone(),
        },
    ))
    .await
    .unwrap();
    let refused = c
        .update_settings(with_token(&agent, pb::UpdateSettingsRequest { settings }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    // The refused call's line is logged when its response ends; give the
    // server a moment, then stop it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap();
    let _ = child.wait();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }

    let audit: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "earshot::audit")
        .collect();
    assert_eq!(audit.len(), 2, "reads are not audited: {audit:#?}");
    let who = |v: &serde_json::Value| {
        (
            v["span"]["method"].as_str().unwrap_or("").to_owned(),
            v["span"]["tenant"].as_str().unwrap_or("").to_owned(),
            v["span"]["subject"].as_str().unwrap_or("").to_owned(),
            v["span"]["roles"].as_str().unwrap_or("").to_owned(),
            v["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    let got: Vec<_> = audit.iter().map(who).collect();
    let s = |x: &str| x.to_owned();
    assert!(
        got.contains(&(
            s("UpdateSettings"),
            s("acme"),
            s("maria"),
            s("admin"),
            s("OK")
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            s("UpdateSettings"),
            s("acme"),
            s("alex"),
            s("agent"),
            s("PERMISSION_DENIED")
        )),
        "{got:?}"
    );
    for v in &audit {
        assert!(v["timestamp"].is_string(), "{v}");
    }
}
