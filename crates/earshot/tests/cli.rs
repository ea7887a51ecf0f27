//! The command-line client against a running suite, on SQLite and
//! PostgreSQL: the built binary, spawned as a user would run it, talking to
//! a suite started in this process on ephemeral ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{fmt::Write as _, path::Path, process::Command, time::Duration};

use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
    testing::{self, Engine, TestStorage},
};
use tokio_util::sync::CancellationToken;

struct Running {
    suite: earshot::Suite,
    _storage: TestStorage,
    env: Vec<(String, String)>,
}

async fn start(engine: Engine) -> Running {
    earshot_kit::telemetry::init_for_tests();
    let storage = TestStorage::new(engine).await.unwrap();
    let mut config = Config {
        data_dir: storage.dir.path().to_path_buf(),
        ..Config::default()
    };
    config.database.url = storage.postgres_url.clone();
    config.database.max_connections = 4;
    config.auth.hs256_secret = Some(testing::TEST_SECRET.into());
    config.server.shutdown_grace = Duration::from_secs(2);
    for kind in ServiceKind::ALL {
        config.service_mut(kind).port = Some(0);
    }
    let suite = earshot::start(config, &ServiceKind::ALL, CancellationToken::new())
        .await
        .unwrap();
    let mut env = Vec::new();
    for kind in ServiceKind::ALL {
        env.push((
            format!("EARSHOT_{}_ADDRESS", kind.name().to_ascii_uppercase()),
            suite.url(kind).unwrap(),
        ));
    }
    env.push((
        "EARSHOT_TOKEN".into(),
        testing::token(
            "acme",
            "quinn",
            &[Role::Admin, Role::QaManager, Role::Integration],
        ),
    ));
    Running {
        suite,
        _storage: storage,
        env,
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with the suite's addresses and token (and
/// `extra` environment), off the async runtime.
async fn earshot(r: &Running, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("EARSHOT_TOKEN")
        .env_remove("EARSHOT_ADDRESS")
        .env("EARSHOT_LOG__FILTER", "off");
    for (k, v) in &r.env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    o
}

fn ok(o: &Out) {
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
}

const SCORECARD: &str = include_str!("../src/demo/scorecard.yaml");

/// A 100,000-row ACD export with a few bad rows; returns the lines (file
/// line numbers) of the rows that must be rejected, and why.
fn export(path: &Path, rows: usize) -> Vec<(usize, &'static str)> {
    let mut out = String::from(
        "Contact ID,Media Type,Direction,Agent,Team,Queue,Start Time,Answered At,End Time,Talk Seconds,Hold Seconds,ACW Seconds,Customer ID,Transferred,attr.Region\n",
    );
    let mut bad = Vec::new();
    // Yesterday, UTC, one interaction every 0.8 seconds.
    let day = earshot_kit::time::now_millis() / 86_400_000 * 86_400_000 - 86_400_000;
    for n in 0..rows {
        let line = n + 2;
        let t = day + (n as i64) * 800;
        let iso = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        let mut channel = ["voice", "chat", "email"][n % 3].to_owned();
        let mut start = iso(t);
        let mut end = iso(t + 300_000);
        if n % 2000 == 17 {
            channel = "fax".into();
            bad.push((line, "channel"));
        } else if n % 2000 == 1017 {
            start = "yesterday morning".into();
            bad.push((line, "arrived_time"));
        } else if n % 5000 == 2500 {
            // Sampling's own check: the end before the start.
            end = iso(t - 60_000);
            bad.push((line, "ended_time"));
        }
        writeln!(
            out,
            "call-{n:06},{channel},inbound,agent-{},team-{},billing,{start},{},{end},240,20,40,cust-{},{},\"north, east\"",
            n % 50,
            n % 5,
            iso(t + 15_000),
            n % 20_000,
            n % 10 == 0
        )
        .unwrap();
    }
    std::fs::write(path, out).unwrap();
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_against_a_running_suite() {
    for engine in Engine::available() {
        let r = start(engine).await;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        // Scorecards: a broken file names its field; then import, publish,
        // list and export.
        std::fs::write(
            d.join("broken.yaml"),
            SCORECARD.replace("pass_mark: 80", "pass_mark: 180"),
        )
        .unwrap();
        let o = earshot(&r, d, &["scorecard", "validate", "broken.yaml"], &[]).await;
        assert_eq!(o.code, 1, "{engine:?}: {}", o.stderr);
        assert!(o.stderr.contains("pass_mark"), "{}", o.stderr);
        std::fs::write(d.join("card.yaml"), SCORECARD).unwrap();
        let o = earshot(&r, d, &["scorecard", "validate", "card.yaml"], &[]).await;
        ok(&o);
        let o = earshot(
            &r,
            d,
            &["scorecard", "import", "card.yaml", "--publish"],
            &[],
        )
        .await;
        ok(&o);
        assert!(o.stdout.contains("published as version 1"), "{}", o.stdout);
        let card_id = o.stdout.split('\t').next().unwrap().to_owned();
        let o = earshot(&r, d, &["scorecard", "list", "--format", "json"], &[]).await;
        ok(&o);
        let cards: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(cards[0]["id"], card_id.as_str());
        assert_eq!(cards[0]["latest_version"], 1);
        let o = earshot(
            &r,
            d,
            &[
                "scorecard",
                "export",
                &card_id,
                "--version",
                "1",
                "-o",
                "out.yaml",
            ],
            &[],
        )
        .await;
        ok(&o);
        assert!(
            std::fs::read_to_string(d.join("out.yaml"))
                .unwrap()
                .contains("Customer care")
        );

        // A plan, shown in CSV.
        let o = earshot(
            &r,
            d,
            &[
                "plan",
                "create",
                "--name",
                "Weekly",
                "--period",
                "week",
                "--rule",
                "low-csat=2",
                "--rule",
                "complaint",
            ],
            &[],
        )
        .await;
        ok(&o);
        let o = earshot(
            &r,
            d,
            &["plan", "create", "--name", "Bad", "--rule", "psychic"],
            &[],
        )
        .await;
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains("--rule \"psychic\""), "{}", o.stderr);
        let o = earshot(&r, d, &["plan", "list", "--format", "csv"], &[]).await;
        ok(&o);
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert_eq!(lines[0], "id,name,state,version,period,min,max");
        assert!(
            lines[1].contains(",Weekly,active,1,week,4,8"),
            "{}",
            o.stdout
        );

        // Ingest 100,000 rows with bad ones: progress, rejects with reasons,
        // and a second run adds nothing.
        let rows = 100_000;
        let bad = export(&d.join("acd.csv"), rows);
        let o = earshot(
            &r,
            d,
            &["ingest", "interactions", "acd.csv", "--batch-size", "2500"],
            &[],
        )
        .await;
        ok(&o);
        assert!(o.stderr.contains("ingest interactions: ["), "{}", o.stderr);
        assert!(
            o.stderr.contains(&format!("{rows}/{rows} rows (100%)")),
            "{}",
            o.stderr
        );
        let good = rows - bad.len();
        assert!(
            o.stdout.starts_with(&format!(
                "{rows} rows: {good} new, 0 updated, 0 unchanged, 0 stale, {} rejected",
                bad.len()
            )),
            "{engine:?}: {}",
            o.stdout
        );
        let rejects = std::fs::read_to_string(d.join("acd.csv.rejects.csv")).unwrap();
        let mut lines = rejects.lines();
        assert_eq!(lines.next(), Some("row,id,field,reason"));
        let listed: Vec<(usize, String)> = lines
            .map(|l| {
                let mut f = l.split(',');
                (
                    f.next().unwrap().parse().unwrap(),
                    f.nth(1).unwrap().to_owned(),
                )
            })
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        // A row can break several rules (the end before the start and before
        // the answer): one line each.
        listed_sorted.dedup();
        let expected: Vec<(usize, String)> =
            bad.iter().map(|(l, f)| (*l, (*f).to_owned())).collect();
        assert_eq!(listed_sorted, expected, "{rejects}");
        assert!(
            rejects.contains("\"\"fax\"\" is not voice, chat"),
            "{rejects}"
        );
        assert!(
            rejects.contains("arrived_time,\"\"\"yesterday morning\"\" is not a time"),
            "{rejects}"
        );

        // Again: the checkpoint skips everything.
        let o = earshot(&r, d, &["ingest", "interactions", "acd.csv", "-q"], &[]).await;
        ok(&o);
        assert!(
            o.stdout.contains("0 new, 0 updated, 0 unchanged"),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout.contains(&format!("{rows} rows skipped")),
            "{}",
            o.stdout
        );
        // And with --restart every row goes again; nothing is added.
        let o = earshot(
            &r,
            d,
            &["ingest", "interactions", "acd.csv", "-q", "--restart"],
            &[],
        )
        .await;
        ok(&o);
        assert!(
            o.stdout
                .contains(&format!("0 new, 0 updated, {good} unchanged")),
            "{engine:?}: {}",
            o.stdout
        );

        // Surveys from JSON Lines, one refused by sampling, one unreadable.
        std::fs::write(
            d.join("surveys.jsonl"),
            "{\"survey_id\":\"s1\",\"interaction_id\":\"call-000001\",\"csat\":2,\"nps\":3}\n\
             {\"survey_id\":\"s2\",\"interaction_id\":\"call-000002\",\"csat\":9}\n\
             not json\n\
             {\"survey_id\":\"s3\",\"interaction_id\":\"call-000003\",\"csat\":\"five\"}\n",
        )
        .unwrap();
        let o = earshot(&r, d, &["ingest", "surveys", "surveys.jsonl", "-q"], &[]).await;
        ok(&o);
        assert!(o.stdout.starts_with("4 rows: 1 new"), "{}", o.stdout);
        assert!(o.stdout.contains("3 rejected"), "{}", o.stdout);
        let rejects = std::fs::read_to_string(d.join("surveys.jsonl.rejects.csv")).unwrap();
        assert!(rejects.contains("2,s2,csat"), "{rejects}");
        assert!(rejects.contains("3,,,not JSON"), "{rejects}");
        assert!(rejects.contains("4,s3,csat"), "{rejects}");

        // Assignments, as JSON.
        let o = earshot(
            &r,
            d,
            &["assignments", "list", "--limit", "5", "--format", "json"],
            &[],
        )
        .await;
        ok(&o);
        let listed: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert!(listed.as_array().unwrap().len() <= 5);

        // Reports in each format.
        report_formats(&r, d, &card_id).await;

        // Clear one-line errors: nothing listening, a bad token.
        let o = earshot(
            &r,
            d,
            &["plan", "list"],
            &[("EARSHOT_SAMPLING_ADDRESS", "http://127.0.0.1:1")],
        )
        .await;
        assert_eq!(o.code, 1);
        assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
        assert!(
            o.stderr
                .starts_with("earshot: cannot reach sampling at http://127.0.0.1:1"),
            "{}",
            o.stderr
        );
        let o = earshot(
            &r,
            d,
            &["scorecard", "list"],
            &[("EARSHOT_TOKEN", "not-a-token")],
        )
        .await;
        assert_eq!(o.code, 1);
        assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
        assert!(
            o.stderr.contains("scoring refused the token"),
            "{}",
            o.stderr
        );

        r.suite.stop().await.unwrap();
    }
}

async fn report_formats(r: &Running, d: &Path, card_id: &str) {
    let o = earshot(
        r,
        d,
        &[
            "report",
            "operational",
            "--group-by",
            "team",
            "--format",
            "csv",
        ],
        &[],
    )
    .await;
    ok(&o);
    // Estimates spread over value, interval and sample size columns.
    assert!(
        o.stdout
            .starts_with("group,interactions,aht,aht_ci_low,aht_ci_high,aht_n,asa,"),
        "{}",
        o.stdout
    );
    let o = earshot(r, d, &["report", "quality", "--format", "json"], &[]).await;
    ok(&o);
    let _: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let o = earshot(
        r,
        d,
        &[
            "report",
            "trend",
            "--metric",
            "average_handle_time",
            "--granularity",
            "day",
        ],
        &[],
    )
    .await;
    ok(&o);
    assert!(
        o.stdout.starts_with("Trend of average_handle_time"),
        "{}",
        o.stdout
    );
    let o = earshot(r, d, &["report", "trend", "--metric", "speed"], &[]).await;
    assert_eq!(o.code, 2, "clap refuses an unknown metric: {}", o.stderr);
    let o = earshot(
        r,
        d,
        &[
            "report",
            "compare",
            "--period",
            "last-7-days",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    ok(&o);
    let rows: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["metric"] == "average_handle_time"),
        "{}",
        o.stdout
    );
    let o = earshot(r, d, &["report", "questions", "--scorecard", card_id], &[]).await;
    ok(&o);
    assert!(
        o.stdout.starts_with("Questions by failures"),
        "{}",
        o.stdout
    );
    let o = earshot(r, d, &["report", "questions"], &[]).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--scorecard"), "{}", o.stderr);
}
