use super::*;

fn parse(xml: &str) -> LabelConfig {
    LabelConfig::parse(xml).expect("valid config")
}

#[test]
fn empty_config_is_empty() {
    assert!(parse("").controls.is_empty());
    assert!(parse("<View></View>").controls.is_empty());
}

#[test]
fn invalid_xml_is_an_error_not_a_panic() {
    for bad in [
        "<View>",
        "<View><Choices></View>",
        "not xml",
        "<View a='1' a='2'/>",
    ] {
        assert!(LabelConfig::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn dtd_is_refused() {
    let bomb = r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><View>&a;</View>"#;
    assert!(LabelConfig::parse(bomb).is_err());
}

#[test]
fn labels_attach_to_nearest_control_and_keep_order() {
    let config = parse(
        r#"<View><Text name="t" value="$$text"/>
           <Choices name="c" toName="t"><View><Choice value="B" hint="x"/></View>
           <Choice value="A"/><Choice alias="Z" value="B"/><Choice value="B" hint="y"/></Choices></View>"#,
    );
    let control = &config.controls["c"];
    assert_eq!(control.labels.keys().collect::<Vec<_>>(), ["B", "A", "Z"]);
    assert_eq!(control.labels["B"]["hint"], "y");
    assert_eq!(control.inputs[0].source, InputSource::Value("text".into()));
}

#[test]
fn to_name_splits_without_trimming_and_skips_unknown_objects() {
    let config = parse(
        r#"<View><Image name="a" value="$img"/><Labels name="l" toName="a, b,missing"/></View>"#,
    );
    let control = &config.controls["l"];
    assert_eq!(control.to_name, ["a", " b", "missing"]);
    assert_eq!(control.inputs.len(), 1);
}

#[test]
fn filter_is_not_a_control_and_dynamic_labels_are_detected() {
    let config = parse(
        r#"<View><Text name="t" value="$t"/><Filter name="f" toName="t"/>
           <Choices name="c" toName="t" value="$options"/>
           <Labels name="l" toName="t" value="$not valid"/></View>"#,
    );
    assert!(!config.controls.contains_key("f"));
    assert!(config.controls["c"].dynamic_labels);
    assert!(!config.controls["l"].dynamic_labels);
}

#[test]
fn conditionals_need_per_region_true() {
    let config = parse(
        r#"<View><Text name="t" value="$t"/>
           <TextArea name="a" toName="t" perRegion="true" whenLabelValue="PER"/>
           <TextArea name="b" toName="t" whenTagName="x"/></View>"#,
    );
    assert_eq!(
        config.controls["a"].conditional,
        Some(Conditional {
            kind: ConditionalKind::Label,
            name: "PER".into()
        })
    );
    assert_eq!(config.controls["b"].conditional, None);
}

#[test]
fn repeater_variables_become_regex() {
    let config = parse(
        r#"<View><Repeater on="$pages" indexFlag="{{idx}}"><Image name="page_{{idx}}" value="$pages[{{idx}}].url"/>
           <RectangleLabels name="labels_{{idx}}" toName="page_{{idx}}"><Label value="A"/></RectangleLabels></Repeater></View>"#,
    );
    let json = config.to_label_studio_json();
    assert_eq!(json["labels_{{idx}}"]["regex"]["{{idx}}"], ".*");
}

#[test]
fn first_control_finds_by_tag() {
    let config = parse(
        r#"<View><Text name="t" value="$t"/><Labels name="l" toName="t"/><Choices name="c" toName="t"/></View>"#,
    );
    assert_eq!(config.first_control("Choices").map(|(n, _)| n), Some("c"));
    assert!(config.first_control("Rating").is_none());
}
