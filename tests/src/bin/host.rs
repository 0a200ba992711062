//! The `wasml` binary, built inside the tests package so integration tests can start it.

fn main() -> std::process::ExitCode {
    wasml::cli::main()
}
