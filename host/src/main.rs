//! The `wasml` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    wasml::cli::main()
}
