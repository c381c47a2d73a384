//! Rendering a template value (the Application template, a templatePatch, a generator) with
//! one parameter set, in the ApplicationSet's mode: every string, and every object key, is a
//! template; numbers, booleans and nulls are copied.

use serde_json::{Map, Value};

use crate::fasttemplate::{self, UnclosedTag};
use crate::gotemplate::{self, GoTemplateError, GoTemplateOptions};
use crate::params::Params;

/// Rendering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Go(#[from] GoTemplateError),
    #[error(transparent)]
    Default(#[from] UnclosedTag),
}

/// How templates are read: `{{param}}` replacement or Go templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Default,
    Go(GoTemplateOptions),
}

impl Mode {
    pub fn is_go(&self) -> bool {
        matches!(self, Mode::Go(_))
    }

    /// The same mode with `missingkey=error` forced (Go mode only).
    pub fn with_missing_key_error(self) -> Mode {
        match self {
            Mode::Go(_) => Mode::Go(GoTemplateOptions {
                missing_key_error: true,
            }),
            Mode::Default => Mode::Default,
        }
    }

    /// Renders one string.
    pub fn replace(&self, template: &str, params: &Params) -> Result<String, RenderError> {
        match self {
            Mode::Default => Ok(fasttemplate::replace(template, params)?),
            Mode::Go(options) => {
                let data = gotemplate::from_json(&Value::Object(params.clone()));
                Ok(gotemplate::render(template, &data, *options)?)
            }
        }
    }

    /// Renders every string and object key of `value`.
    pub fn render_value(&self, value: &Value, params: &Params) -> Result<Value, RenderError> {
        // Go mode converts the parameters once for the whole value.
        let data = match self {
            Mode::Go(_) => Some(gotemplate::from_json(&Value::Object(params.clone()))),
            Mode::Default => None,
        };
        self.render_with(value, params, data.as_ref())
    }

    fn render_with(
        &self,
        value: &Value,
        params: &Params,
        data: Option<&gotmpl::Value>,
    ) -> Result<Value, RenderError> {
        let text = |s: &str| -> Result<String, RenderError> {
            match (self, data) {
                (Mode::Go(options), Some(data)) => Ok(gotemplate::render(s, data, *options)?),
                _ => self.replace(s, params),
            }
        };
        Ok(match value {
            Value::String(s) => Value::String(text(s)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_with(v, params, data))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(text(k)?, self.render_with(v, params, data)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}
