//! `driftless crds`: the CRD YAML of Application, ApplicationSet and AppProject.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    match driftless_model::crd::try_crds_yaml() {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
