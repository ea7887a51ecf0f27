//! The `earshot` binary, for the fault tests to run as a child process.

fn main() -> std::process::ExitCode {
    earshot::cli::main()
}
