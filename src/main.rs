//! The `driftless` command line.

use clap::Parser;

mod cli;
#[cfg(test)]
mod install_files;

// jemalloc returns what a burst of reconciles freed; glibc's malloc kept it, so the
// controller's memory grew with every commit at a thousand apps.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
