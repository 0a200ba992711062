//! Any method and path: routing answers a route or a 404/405, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasml::routes::route;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    for method in [
        hyper::Method::GET,
        hyper::Method::POST,
        hyper::Method::DELETE,
    ] {
        if let Err(err) = route(&method, path) {
            assert!(err.status().is_client_error(), "{err}");
        }
    }
});
