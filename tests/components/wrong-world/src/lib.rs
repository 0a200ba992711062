//! A well-formed component for some other host: the wasml host must refuse it with a clear
//! error and keep the previous version of the model serving.

wit_bindgen::generate!({ path: "wit", world: "greeter" });

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Greeter);
