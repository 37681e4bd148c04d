//! Tool parameters: grove-service's request types, plus the one option every
//! reading tool has over MCP — a token budget for the text it returns.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// Default token budget of a tool result's text.
pub const DEFAULT_MAX_TOKENS: usize = 4000;
/// Bytes per token, the usual estimate for code and English text.
pub const BYTES_PER_TOKEN: usize = 4;

/// A service request and the caller's token budget. On the wire it is one
/// flat JSON object: the request's fields and `max_tokens`.
#[derive(Debug)]
pub struct Budgeted<T> {
    pub request: T,
    pub max_tokens: Option<usize>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Budgeted<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Take `max_tokens` out first, so that the request type still refuses
        // every field it does not know.
        let mut fields = Map::<String, Value>::deserialize(deserializer)?;
        let max_tokens = match fields.remove("max_tokens") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                usize::deserialize(v)
                    .map_err(|e| D::Error::custom(format!("max_tokens: {e}; give a positive integer")))?,
            ),
        };
        let request = T::deserialize(Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(Budgeted { request, max_tokens })
    }
}

impl<T: JsonSchema> JsonSchema for Budgeted<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Budgeted{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = T::json_schema(generator);
        let object = schema.ensure_object();
        let properties = object.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert("max_tokens".into(), max_tokens_schema());
        }
        schema
    }
}

fn max_tokens_schema() -> Value {
    json!({
        "type": "integer",
        "minimum": 1,
        "description": format!(
            "Token budget for the returned text (about {BYTES_PER_TOKEN} bytes per token; default \
             {DEFAULT_MAX_TOKENS}). Longer results are cut and say so, with how to get the rest."
        ),
    })
}

/// A tool without request fields (`list_revisions`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}
