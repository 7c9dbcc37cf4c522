//! Docker's `--format` for lists (`ps`, `network ls`): a Go template per row, or with
//! `table` Docker's headers and Go's tabwriter; errors in Docker's words (the caller
//! prints them and exits 1).

use serde_json::{Map, Value};

use crate::model::ps::tabwrite;
use crate::model::template::{Options, Template};

/// A parsed `--format`.
pub(crate) struct ListFormat {
    table: bool,
    template: Template,
}

impl ListFormat {
    /// Parses `format` (`table` and `\t`, `\n` escapes as Docker reads them); checked
    /// before anything else, as Docker does.
    pub fn parse(format: &str) -> Result<ListFormat, String> {
        let (table, body) = match format.strip_prefix("table") {
            Some(rest) => (true, rest),
            None => (false, format),
        };
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let template =
            Template::parse(&body).map_err(|e| format!("failed to parse template: {e}"))?;
        Ok(ListFormat { table, template })
    }

    /// The text of `rows` (one line each), with the header made from `header` first for a
    /// table; a missing key is an error, as in Docker's lists.
    pub fn render(
        &self,
        rows: impl IntoIterator<Item = Map<String, Value>>,
        header: Map<String, Value>,
    ) -> Result<String, String> {
        let options = Options {
            missing_key_error: true,
            ..Options::default()
        };
        let failed = |e| format!("failed to execute template: {e}");
        let mut text = String::new();
        for row in rows {
            text.push_str(
                &self
                    .template
                    .execute(&Value::Object(row), &options)
                    .map_err(failed)?,
            );
            text.push('\n');
        }
        if self.table {
            let head = Options {
                header: true,
                ..options
            };
            let h = self
                .template
                .execute(&Value::Object(header), &head)
                .map_err(failed)?;
            text = tabwrite(&format!("{h}\n{text}"));
        }
        Ok(text)
    }
}
