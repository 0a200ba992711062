//! Any text as a label config: parsing either fails with an error or yields a config whose
//! Label Studio JSON serialises; it never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasml::labelconfig::LabelConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = LabelConfig::parse(text) {
        let json = config.to_label_studio_json();
        assert!(serde_json::to_string(&json).is_ok());
    }
});
