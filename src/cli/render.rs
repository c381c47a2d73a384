//! `driftless render`: the desired objects of one Application, sorted by group, kind,
//! namespace and name, as `helm template` / `kustomize build` would feed them to Argo CD.

use super::app_source::{self, AppArgs, CommandError};
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub app: AppArgs,
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub output: Format,
}

pub fn run(args: RenderArgs) -> Result<(), CommandError> {
    let mut app = app_source::load_application(&args.app.file)?;
    let rendered = app_source::render(
        &mut app,
        &args.app,
        &app_source::Credentials::default(),
        None,
    )?;
    let text = match args.output {
        Format::Yaml => driftless_render::output::to_yaml(&rendered.objects),
        Format::Json => driftless_render::output::to_json(&rendered.objects),
    }
    .map_err(|e| CommandError::Failed(e.to_string()))?;
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(())
}
