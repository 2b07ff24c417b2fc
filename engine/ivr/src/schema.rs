//! The JSON Schema of flow files, for editors (yaml-language-server) and CI.

use schemars::generate::SchemaSettings;

use crate::model::FlowFile;

/// Where the schema is kept in the repository, relative to its root.
pub const SCHEMA_PATH: &str = "ivr-flows/schema/flow.schema.json";

/// The JSON Schema (draft-07, which every YAML editor understands) of a flow file, derived from
/// [`crate::model`]. Unknown keys are refused (`additionalProperties: false`). It checks shape
/// only; the loader checks the rest (targets, prompts, loops, …).
///
/// `ivr-flows/schema/flow.schema.json` holds it, pretty-printed with a trailing newline
/// ([`json_schema_text`]); a unit test fails when the file is stale.
pub fn json_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<FlowFile>();
    schema.to_value()
}

/// [`json_schema`] as the text of `flow.schema.json`: pretty JSON and a newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// `HOTLINE_UPDATE_SCHEMA=1 cargo test -p hotline-ivr` rewrites the file instead.
    #[test]
    fn schema_file_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(SCHEMA_PATH);
        let want = json_schema_text();
        if std::env::var("HOTLINE_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{SCHEMA_PATH} is not the schema of the current model. Regenerate it with\n  \
             hotline flow schema > {SCHEMA_PATH}\nor\n  HOTLINE_UPDATE_SCHEMA=1 cargo test -p hotline-ivr"
        );
    }

    #[test]
    fn schema_refuses_unknown_keys_and_knows_every_node_type() {
        let schema = json_schema();
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        let text = schema.to_string();
        for kind in crate::model::Node::KINDS {
            assert!(text.contains(&format!("\"{kind}\"")), "{kind}");
        }
        assert_eq!(
            schema["$schema"],
            serde_json::json!("http://json-schema.org/draft-07/schema#")
        );
    }
}
