//! The audit trail of changes. When a call that can change state ends, one
//! event is logged at target `earshot::audit` inside the call's span, so it
//! carries who (tenant, subject, roles), what (service, method), the outcome
//! (gRPC code) and when. Route the target to its own sink to keep the trail
//! apart from operational logs (e.g. `log.filter = "earshot::audit=info,warn"`
//! with `log.format = "json"`). Reads are not audited; they are in the
//! ordinary `rpc finished` lines. The durable, per-object history lives in
//! the services (scoring's audit entries, plan and scorecard versions,
//! settings' `updated_by`, sampling's `privacy_actions`).

/// Verbs of methods that only read.
const READ_VERBS: &[&str] = &[
    "Get",
    "List",
    "Run",
    "Stream",
    "Export",
    "Render",
    "Preview",
    "Calculate",
    "Compute",
    "Compare",
    "Draw",
    "Score",
    "Validate",
];

/// Verbs of methods that change state. A method with any other verb fails
/// the unit test until it is added to one list or the other.
#[cfg(test)]
const CHANGE_VERBS: &[&str] = &[
    "Create",
    "Update",
    "Archive",
    "Publish",
    "Import",
    "Save",
    "Submit",
    "Release",
    "Acknowledge",
    "Dispute",
    "Resolve",
    "Add",
    "Delete",
    "Ingest",
    "Batch",
    "Record",
    "Claim",
    "Complete",
    "Reassign",
    "Cancel",
    "Close",
    "Erase",
    "Purge",
];

/// The leading verb of a method name (`CreatePlan` → `Create`).
fn verb(method: &str) -> &str {
    let end = method
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(method.len(), |(i, _)| i);
    &method[..end]
}

/// Whether a call to `method` (the last part of the gRPC path) may change
/// state and so belongs in the audit trail.
pub fn is_change(method: &str) -> bool {
    !READ_VERBS.contains(&verb(method))
}

/// Logs the end of a change at target `earshot::audit` (inside the call's
/// span, which holds the service, method, tenant, subject and roles).
pub fn record(method: &str, code: &str) {
    if is_change(method) {
        tracing::info!(target: "earshot::audit", code, "change");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use prost::Message as _;

    #[test]
    fn every_rpc_is_classified() {
        let set =
            prost_types::FileDescriptorSet::decode(earshot_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut changes = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for m in &service.method {
                    let name = m.name();
                    let v = verb(name);
                    assert!(
                        READ_VERBS.contains(&v) || CHANGE_VERBS.contains(&v),
                        "{name}: is {v:?} a read or a change? Add it to audit.rs"
                    );
                    if is_change(name) {
                        changes.push(name.to_owned());
                    }
                }
            }
        }
        for m in [
            "CreatePlan",
            "UpdateSettings",
            "EraseCustomer",
            "IngestInteractions",
        ] {
            assert!(changes.iter().any(|c| c == m), "{m}");
        }
        for m in [
            "GetPlan",
            "RunQualityReport",
            "StreamEvents",
            "ScoreAnswers",
        ] {
            assert!(!is_change(m), "{m}");
        }
    }

    #[test]
    fn verbs() {
        assert_eq!(verb("CreatePlan"), "Create");
        assert_eq!(verb("Check"), "Check");
        assert_eq!(verb(""), "");
    }
}
