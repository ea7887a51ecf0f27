//! The binary's start-up: bad configuration or an unreachable database stop
//! it with one clear line and a failing exit code, never a panic trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn earshot(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("EARSHOT_LOG__FILTER", "off")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_clear_line(stderr: &str, needle: &str) {
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got {stderr:?}");
    assert!(lines[0].starts_with("earshot: "), "{stderr:?}");
    assert!(
        lines[0].contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}

#[test]
fn bad_config_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        "[server]\nrequest_timeout = \"whenever\"\n",
    )
    .unwrap();
    let (code, _, stderr) = earshot(dir.path(), &["serve"]);
    assert_eq!(code, 2);
    assert_one_clear_line(&stderr, "request_timeout");

    let (code, _, stderr) = earshot(dir.path(), &["--config", "missing.toml", "serve"]);
    assert_eq!(code, 2);
    assert_one_clear_line(&stderr, "does not exist");
}

#[test]
fn unreachable_database_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // Any free ports: the default ones (50051–50054) lie in Linux's
    // ephemeral range, where another test's socket can hold one, and the
    // services bind before they open their databases.
    std::fs::write(
        dir.path().join("earshot.toml"),
        "[sampling]\nport = 0\n[scoring]\nport = 0\n[calibration]\nport = 0\n[reporting]\nport = 0\n",
    )
    .unwrap();
    // Nothing listens on port 1.
    let (code, _, stderr) = earshot(
        dir.path(),
        &[
            "--database-url",
            "postgres://earshot:secret@127.0.0.1:1/earshot",
            "serve",
        ],
    );
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "cannot open postgres");
    assert!(
        !stderr.contains("secret"),
        "the password is redacted: {stderr:?}"
    );
}

#[test]
fn busy_port_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    std::fs::write(
        dir.path().join("earshot.toml"),
        format!("[scoring]\nport = {port}\n"),
    )
    .unwrap();
    let (code, _, stderr) = earshot(dir.path(), &["serve", "--services", "scoring"]);
    assert_eq!(code, 1);
    assert_one_clear_line(&stderr, "cannot listen");
}

#[test]
fn token_mints_for_the_embedded_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = earshot(
        dir.path(),
        &[
            "token",
            "--tenant",
            "acme",
            "--subject",
            "ann",
            "--role",
            "qa_manager",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.trim();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(dir.path().join("earshot-data/jwt-secret").exists());
    let (code, _, stderr) = earshot(dir.path(), &["token", "--role", "root"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown role"), "{stderr}");
}

/// The documented example configuration parses and states the defaults.
#[test]
fn example_config_matches_the_defaults() {
    use earshot_kit::config::{Config, Overrides, ServiceKind};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/earshot.example.toml");
    let loaded = Config::load(Some(&path), &Overrides::default()).unwrap();
    let default = Config::default();
    assert_eq!(loaded.data_dir, default.data_dir);
    assert_eq!(loaded.log, default.log);
    assert_eq!(loaded.server, default.server);
    assert_eq!(loaded.database, default.database);
    assert_eq!(loaded.auth, default.auth);
    assert_eq!(loaded.metrics, default.metrics);
    assert_eq!(loaded.tls, default.tls);
    for kind in ServiceKind::ALL {
        assert_eq!(loaded.port(kind), kind.default_port());
    }
}
