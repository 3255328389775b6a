//! The JSON-lines audit file: every record, in order, one object per line.

#[path = "../actors/tests/common/mod.rs"]
mod common;

use common::sid;
use exokern::audit_file::JsonLinesAudit;
use exokern::kernel::{Dock, Kernel};
use exokern::policy::RuleSet;
use exokern::prelude::*;

struct Idle;

impl System for Idle {
    type Message = ();
}

#[actix_rt::test]
async fn the_audit_file_holds_every_record_as_a_json_line_appended_across_runs() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("audit.jsonl");
    for run in 0..2 {
        let kernel = Kernel::builder()
            .policy(RuleSet::allow_all())
            .audit_sink(JsonLinesAudit::append(&path).unwrap())
            .start()
            .await
            .unwrap();
        kernel.dock(Dock::new(sid("idle"), || Idle)).await.unwrap();
        kernel.undock(&sid("idle")).await.unwrap();
        let ring = kernel.audit(0, 100);
        assert_eq!(ring.len(), 2, "run {run}: {ring:?}");
        kernel.shutdown().await;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    let summary: Vec<_> = lines
        .iter()
        .map(|l| (l["seq"].as_u64().unwrap(), l["request"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [(1, "dock"), (2, "undock"), (1, "dock"), (2, "undock")]
    );
    assert_eq!(lines[0]["subject"], "idle");
    assert_eq!(lines[0]["decision"], "ok");
    assert!(lines[0]["timestamp"].as_f64().unwrap() > 1.0e9);
}

#[test]
fn an_audit_file_in_a_missing_folder_is_an_error_naming_it() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("missing").join("audit.jsonl");
    let error = JsonLinesAudit::append(&path).unwrap_err();
    assert!(error.to_string().contains("missing/audit.jsonl"), "{error}");
}
