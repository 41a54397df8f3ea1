//! The names users give to things that the engine keeps: one place that says which names are
//! allowed.
//!
//! A model's name becomes part of a directory name (`models/<name>-<version>/`), so it is
//! limited to characters that are safe in a path component on every platform and can never
//! climb out of its directory; so does a vector index's (`indexes/<name>-<version>/`). Table names never reach the file system (data files are named
//! by table id), so they only need to be printable. Names of files reeldb writes outside a
//! database for the user (a report's `csv=NAME` results) are one path component by the same
//! rule, so they stay in the directory they are written to.

use crate::error::{Error, Result};
use crate::model_store::BUILTIN_MODEL;

/// Checks a new table's name.
pub(crate) fn validate_table_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidTableName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("the name is empty"));
    }
    if name.len() > 255 {
        return Err(invalid("the name is longer than 255 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("the name contains a control character"));
    }
    Ok(())
}

/// Checks a new model's name.
pub(crate) fn validate_model_name(name: &str) -> Result<()> {
    check_path_component(name).map_err(|reason| {
        Error::InvalidArgument(format!(
            "model name '{name}' {reason}; use letters, digits, '-', '_' and '.'"
        ))
    })?;
    if name == BUILTIN_MODEL {
        return Err(Error::InvalidArgument(format!(
            "model name '{name}' is reserved for the built-in image model; pick another name"
        )));
    }
    Ok(())
}

/// Checks a vector index's name before it becomes part of a directory name.
pub(crate) fn validate_index_name(name: &str) -> Result<()> {
    check_path_component(name).map_err(|reason| {
        Error::InvalidArgument(format!(
            "vector index name '{name}' {reason}; use letters, digits, '-', '_' and '.'"
        ))
    })
}

/// Checks the name of a file reeldb writes for the user into a directory of its own (a
/// report's `csv=NAME` or `parquet=NAME` result), so that it can only land in that directory;
/// `what` says where the name was given, for the message.
pub fn validate_output_file_name(name: &str, what: &str) -> Result<()> {
    check_path_component(name).map_err(|reason| {
        Error::InvalidArgument(format!(
            "{what}: file name '{name}' {reason}; use letters, digits, '-', '_' and '.'"
        ))
    })
}

/// Why `name` cannot be one component of a path inside the database directory: empty or
/// long, a character outside `[A-Za-z0-9_.-]` (so no separator, no `..` climbing out, nothing
/// a file system treats specially), or a leading `.` (hidden files, `.` and `..`).
fn check_path_component(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() || name.len() > 128 {
        return Err("must have 1 to 128 characters");
    }
    if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("has a character that cannot be used in a name that becomes a file name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_their_directory_are_refused() {
        for bad in [
            "",
            "../../victim",
            "a/b",
            "a\\b",
            ".hidden",
            "..",
            "x\0y",
            "caf\u{e9}",
        ] {
            assert!(validate_index_name(bad).is_err(), "{bad:?}");
            assert!(validate_model_name(bad).is_err(), "{bad:?}");
            assert!(validate_output_file_name(bad, "csv=").is_err(), "{bad:?}");
        }
        for good in ["frames_clip", "clip-vit-b32", "v1.2", "A_9"] {
            validate_index_name(good).unwrap();
            validate_model_name(good).unwrap();
            validate_output_file_name(good, "csv=").unwrap();
        }
        assert!(validate_model_name(BUILTIN_MODEL).is_err());
        validate_index_name(BUILTIN_MODEL).unwrap();
        validate_index_name(&"i".repeat(128)).unwrap();
        assert!(validate_index_name(&"i".repeat(129)).is_err());
    }

    #[test]
    fn table_names_need_only_be_printable() {
        validate_table_name("frames of 2024/10").unwrap();
        assert!(validate_table_name("").is_err());
        assert!(validate_table_name("a\nb").is_err());
    }
}
