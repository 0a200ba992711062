//! The label config parser against Label Studio's own `parse_config`, on all 69 templates
//! that ship with Label Studio 1.23.2 (`tests/data/label-configs`).

use std::process::Command;

use serde_json::Value;
use wasml::labelconfig::LabelConfig;
use wasml_tests::{data, data_path};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

fn templates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_path("label-configs"))
        .expect("label-configs")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".xml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_template_parses_exactly_like_label_studio_key_order_included() {
    let names = templates();
    assert_eq!(names.len(), 69, "all shipped templates are present");
    let mut mismatches = Vec::new();
    for name in &names {
        let xml = data(&format!("label-configs/{name}.xml"));
        let expected: Value =
            serde_json::from_str(&data(&format!("label-configs/{name}.json"))).expect("json");
        let ours = LabelConfig::parse(&xml)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .to_label_studio_json();
        // serde_json keeps insertion order here, so comparing the text compares key order too.
        let (ours, expected) = (ours.to_string(), expected.to_string());
        if ours != expected {
            mismatches.push(format!("{name}:\n  ours     {ours}\n  expected {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn parse_config_command_prints_label_studio_json() {
    let name = "natural-language-processing__named-entity-recognition";
    let output = Command::new(BIN)
        .arg("parse-config")
        .arg(data_path(&format!("label-configs/{name}.xml")))
        .output()
        .expect("run parse-config");
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let expected: Value =
        serde_json::from_str(&data(&format!("label-configs/{name}.json"))).expect("json");
    assert_eq!(printed.to_string(), expected.to_string());
}

#[test]
fn parse_config_command_reports_invalid_xml_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken.xml");
    std::fs::write(&file, "<View><Choices name='c' toName='t'></View>").expect("write");
    let output = Command::new(BIN)
        .arg("parse-config")
        .arg(&file)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid label config"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
