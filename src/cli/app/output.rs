//! `-o json|yaml|name|wide`: the machine-readable forms, and the choice of table.

use crate::cli::app_source::CommandError;
use clap::ValueEnum;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// The table (or summary).
    #[default]
    Table,
    /// The table with more columns.
    Wide,
    Json,
    Yaml,
    /// Names only, one a line.
    Name,
}

impl Output {
    pub fn wide(self) -> bool {
        self == Self::Wide
    }
}

/// Prints `value` as JSON or YAML; false when `output` is neither (the caller prints text).
/// `metadata.managedFields` is left out, as kubectl leaves it out.
pub fn print_data(output: Output, value: &Value) -> Result<bool, CommandError> {
    if !matches!(output, Output::Json | Output::Yaml) {
        return Ok(false);
    }
    let mut value = value.clone();
    without_managed_fields(&mut value);
    let value = &value;
    match output {
        Output::Json => {
            let text = serde_json::to_string_pretty(value)
                .map_err(|e| CommandError::Failed(format!("failed to write JSON: {e}")))?;
            println!("{text}");
            Ok(true)
        }
        Output::Yaml => {
            let text = driftless_model::yaml::to_string(value)
                .map_err(|e| CommandError::Failed(format!("failed to write YAML: {e}")))?;
            print!("{text}");
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Prints the `metadata.name` of each object.
pub fn print_names(objects: &[Value]) {
    for object in objects {
        println!("{}", super::view::name_of(object));
    }
}

fn without_managed_fields(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(without_managed_fields),
        Value::Object(object) => {
            if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
                metadata.remove("managedFields");
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managed_fields_are_left_out_of_objects_and_lists() {
        let mut list = json!([{"metadata": {"name": "a", "managedFields": [{}]}}, {"id": 1}]);
        without_managed_fields(&mut list);
        assert_eq!(list, json!([{"metadata": {"name": "a"}}, {"id": 1}]));
    }
}
