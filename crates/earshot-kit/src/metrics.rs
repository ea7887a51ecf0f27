//! Prometheus metrics: calls by method and status code, call latency, and
//! gauges services set (change-feed lag, queue depths).
//!
//! The registry is process-wide and tiny on purpose: a few counters and
//! histograms behind one mutex, rendered in the Prometheus text format by
//! [`render`] and served at `GET /metrics` on `metrics.address` when it is
//! configured ([`serve`]). Recording costs one short lock per call.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::SocketAddr,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// A gauge's name and its label pairs.
type GaugeKey = (&'static str, Vec<(&'static str, String)>);

#[derive(Default)]
struct Registry {
    calls: BTreeMap<(String, String, &'static str), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    gauges: BTreeMap<GaugeKey, (f64, &'static str)>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// The most (service, method) series kept. The names come from the request
/// path, which any caller chooses (an unknown method is still a call that
/// ends UNIMPLEMENTED or UNAUTHENTICATED), so without a bound a client could
/// grow the registry without end; past it, calls count under
/// [`OTHER`]. Earshot's services have about 90 methods, plus health and
/// reflection.
pub const MAX_CALL_SERIES: usize = 1024;
/// The service and method label of calls past [`MAX_CALL_SERIES`].
pub const OTHER: &str = "other";

/// Records one finished call.
pub fn record_call(service: &str, method: &str, code: &'static str, latency: Duration) {
    let Ok(mut r) = REGISTRY.lock() else { return };
    r.record_call(service, method, code, latency);
}

impl Registry {
    fn record_call(&mut self, service: &str, method: &str, code: &'static str, latency: Duration) {
        let (service, method) = if self.latency.len() >= MAX_CALL_SERIES
            && !self
                .latency
                .contains_key(&(service.to_owned(), method.to_owned()))
        {
            (OTHER, OTHER)
        } else {
            (service, method)
        };
        *self
            .calls
            .entry((service.to_owned(), method.to_owned(), code))
            .or_default() += 1;
        let secs = latency.as_secs_f64();
        let h = self
            .latency
            .entry((service.to_owned(), method.to_owned()))
            .or_default();
        h.count += 1;
        h.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
    }
}

/// Sets a gauge (`name` in snake case, with a one-line `help`).
pub fn set_gauge(
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
    value: f64,
) {
    let Ok(mut r) = REGISTRY.lock() else { return };
    let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    r.gauges.insert((name, labels), (value, help));
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The registry in the Prometheus text exposition format.
pub fn render() -> String {
    let Ok(r) = REGISTRY.lock() else {
        return String::new();
    };
    let mut out = String::new();
    out.push_str("# HELP earshot_rpc_calls_total Finished gRPC calls by method and status code.\n");
    out.push_str("# TYPE earshot_rpc_calls_total counter\n");
    for ((service, method, code), n) in &r.calls {
        let _ = writeln!(
            out,
            "earshot_rpc_calls_total{{service=\"{}\",method=\"{}\",code=\"{code}\"}} {n}",
            escape(service),
            escape(method)
        );
    }
    out.push_str(
        "# HELP earshot_rpc_duration_seconds gRPC call latency until the status is sent.\n",
    );
    out.push_str("# TYPE earshot_rpc_duration_seconds histogram\n");
    for ((service, method), h) in &r.latency {
        let labels = format!(
            "service=\"{}\",method=\"{}\"",
            escape(service),
            escape(method)
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "earshot_rpc_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "earshot_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "earshot_rpc_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "earshot_rpc_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    let mut last = "";
    for ((name, labels), (value, help)) in &r.gauges {
        if *name != last {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            last = name;
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
    out
}

/// Serves `GET /metrics` on `address` until `shutdown`. A deliberately
/// minimal HTTP/1.1 responder: one request per connection, nothing else.
pub async fn serve(address: SocketAddr, shutdown: CancellationToken) -> Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| Error::Unavailable(format!("metrics: cannot listen on {address}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("metrics: {e}")))?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                a = listener.accept() => a,
            };
            let Ok((mut stream, _)) = accepted else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let read =
                    tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
                let Ok(Ok(n)) = read else { return };
                let request = String::from_utf8_lossy(&buf[..n]);
                let (status, body) = if request.starts_with("GET /metrics ") {
                    ("200 OK", render())
                } else {
                    ("404 Not Found", "not found\n".to_owned())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn calls_and_gauges_render_and_serve() {
        record_call("earshot.x.v1.X", "Get", "OK", Duration::from_millis(3));
        record_call(
            "earshot.x.v1.X",
            "Get",
            "NOT_FOUND",
            Duration::from_millis(30),
        );
        set_gauge(
            "earshot_test_lag",
            "A test gauge.",
            &[("source", "sam\"pling")],
            42.0,
        );
        let text = render();
        assert!(text.contains(
            "earshot_rpc_calls_total{service=\"earshot.x.v1.X\",method=\"Get\",code=\"OK\"} 1"
        ));
        assert!(text.contains(
            "earshot_rpc_duration_seconds_bucket{service=\"earshot.x.v1.X\",method=\"Get\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "earshot_rpc_duration_seconds_count{service=\"earshot.x.v1.X\",method=\"Get\"} 2"
        ));
        assert!(text.contains("earshot_test_lag{source=\"sam\\\"pling\"} 42"));

        let shutdown = CancellationToken::new();
        let addr = serve("127.0.0.1:0".parse().unwrap(), shutdown.clone())
            .await
            .unwrap();
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).await.unwrap();
        assert!(body.starts_with("HTTP/1.1 200 OK"));
        assert!(body.contains("earshot_test_lag"));
        shutdown.cancel();
    }

    #[test]
    fn call_series_are_bounded_whatever_paths_callers_send() {
        let mut r = Registry::default();
        for n in 0..MAX_CALL_SERIES + 500 {
            r.record_call("x.Flood", &format!("M{n}"), "UNIMPLEMENTED", Duration::ZERO);
        }
        assert!(
            r.latency.len() <= MAX_CALL_SERIES + 1,
            "{}",
            r.latency.len()
        );
        assert!(
            r.latency
                .contains_key(&(OTHER.to_owned(), OTHER.to_owned()))
        );
    }
}
