//! `earshot`: parses the command line and runs it (see [`earshot::cli`]).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = earshot::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("earshot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(cli.run())
}
