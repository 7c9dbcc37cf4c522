//! The `netlab` binary: the CLI, and (hidden) the lab supervisor it starts.

fn main() -> std::process::ExitCode {
    netlab::cli::main()
}
