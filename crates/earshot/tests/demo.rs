//! `earshot demo` end to end: the built binary runs the small demo and
//! writes a page with every report section and chart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_demo_writes_every_section_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["demo", "--size", "small", "--seed", "11", "-o"])
        .arg(&page)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    // Progress, then where the page is.
    assert!(
        stderr.contains("[ 1/11] Starting the four services"),
        "{stderr}"
    );
    assert!(stderr.contains("Open the report: "), "{stderr}");
    assert!(stderr.contains("demo.html"), "{stderr}");
    // The tables are printed too.
    assert!(stdout.contains("== Calibration =="), "{stdout}");
    assert!(stdout.contains("Krippendorff's alpha"), "{stdout}");

    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: no external styles, scripts or images.
    for external in ["<link", "<script", "src=\"http", "@import"] {
        assert!(!html.contains(external), "page refers to {external}");
    }
    for id in earshot::demo::SECTION_IDS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
    // Every section is filled: tables, no "not available" note.
    for id in earshot::demo::SECTION_IDS {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
        let end = start + html[start..].find("</section>").unwrap();
        let body = &html[start..end];
        assert!(!body.contains("class=\"missing\""), "{id}: {body}");
        assert!(body.contains("<table>"), "{id} has no table");
    }
    let charts = html.matches("<svg").count();
    assert!(
        charts >= earshot::demo::CHART_COUNT,
        "{charts} charts, expected {}",
        earshot::demo::CHART_COUNT
    );
    // The same seed gives the same figures.
    let again = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["demo", "--size", "small", "--seed", "11", "-o"])
        .arg(dir.path().join("again.html"))
        .current_dir(dir.path())
        .output()
        .expect("the binary runs");
    assert!(again.status.success());
    let strip = |s: &str| -> String {
        s.lines()
            .map(|l| {
                // Evaluation ids are UUIDs, unique per run.
                l.split_whitespace()
                    .filter(|w| !(w.len() == 36 && w.matches('-').count() == 4))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&stdout),
        strip(&String::from_utf8_lossy(&again.stdout))
    );
}
