//! Prints the CRD YAML, like `driftless crds`: `cargo run -p driftless-model --example crds`.

fn main() {
    print!("{}", driftless_model::crds_yaml());
}
