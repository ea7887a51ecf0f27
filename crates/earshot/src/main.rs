//! `earshot`: parses the command line and runs it (see [`earshot::cli`]).

fn main() -> std::process::ExitCode {
    earshot::cli::main()
}
