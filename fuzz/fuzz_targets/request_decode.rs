//! Any bytes as a request body for each endpoint: decoding either fails with a 400-class
//! error or yields a request whose project id and extra params can be read; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasml::api::{self, PredictRequest, SetupRequest, WebhookRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = api::decode::<PredictRequest>(data) {
        let _ = api::project_id(request.project.as_ref());
        for task in &request.tasks {
            // A task is kept as sent: its text is JSON that opens an object.
            assert!(task.json().starts_with('{'), "{}", task.json());
            let _ = api::project_id(task.project().as_ref());
            let _ = task.to_object();
        }
    }
    if let Ok(request) = api::decode::<SetupRequest>(data) {
        let _ = api::project_id(request.project.as_ref());
        let _ = api::extra_params_text(request.extra_params.as_ref());
    }
    if let Ok(request) = api::decode::<WebhookRequest>(data) {
        let _ = api::project_id(request.project.as_ref().and_then(|p| p.id.as_ref()));
    }
    if let Err(err) = api::decode::<PredictRequest>(data) {
        assert!(err.status().is_client_error(), "{err}");
    }
});
