//! `earshot soak` runs its mixed load end to end (a few seconds here; the
//! README's figures come from a longer release run) and reports every
//! operation, without errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_short_soak_exercises_every_operation_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["soak", "--seconds", "6", "--ingest-rate", "200"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("TMPDIR", dir.path())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for op in [
        "ingest batch",
        "get interaction",
        "quality report",
        "operational report",
        "customer report",
        "claim assignment",
        "create evaluation",
        "submit evaluation",
        "release evaluation",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {op} |")))
            .unwrap_or_else(|| panic!("no {op} row in\n{stdout}\n{stderr}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let calls: u64 = cells[2].parse().unwrap();
        assert!(calls > 0, "{row}");
        assert_eq!(cells[4], "0", "{row}");
    }
    assert!(stdout.contains("errors: 0 of"), "{stdout}");
    // The throw-away data directory is removed.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("earshot-soak-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
