//! The names users give to things that the engine keeps: one place that says which names are
//! allowed.
//!
//! A model's name becomes part of a directory name (`models/<name>-<version>/`), so it is
//! limited to characters that are safe in a path component on every platform and can never
//! climb out of its directory; so does a vector index's (`indexes/<name>-<version>/`). Table names never reach the file system (data files are named
//! by table id), so they only need to be printable.
//!
//! Files that statements write outside the database are named here too: a value from a row
//! that becomes part of a file name (`COPY (...) TO 'sheets/{cluster}.png'`) is checked by
//! [`check_file_name_value`], and each file or directory name it ends up in by
//! [`check_file_name`], so that no value can climb out of the directory the user chose. A
//! report's result files (`csv=NAME`) are one path component by the same rule
//! ([`validate_output_file_name`]), so they stay in the directory they are written to.

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

/// The most bytes a file or directory name may have: `NAME_MAX` of Linux, macOS and Windows
/// file systems.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Why `value`, text from a row that a statement puts into a file name the user wrote (the
/// `{cluster}` of `'sheets/cluster_{cluster}.png'`), cannot be part of one: empty, longer than
/// [`MAX_FILE_NAME_BYTES`], holding a path separator (`/`, or `\`, Windows' one), `..`
/// (which climbs out of a directory), or a NUL or other control character. The reason reads
/// after the value, as in "'../x' holds a path separator".
pub fn check_file_name_value(value: &str) -> std::result::Result<(), &'static str> {
    if value.is_empty() {
        return Err("is empty");
    }
    if value.len() > MAX_FILE_NAME_BYTES {
        return Err("is longer than the 255 bytes of a file name");
    }
    if value.contains(['/', '\\']) {
        return Err("holds a path separator ('/' or '\\')");
    }
    if value.contains("..") {
        return Err("holds '..', which could climb out of the directory");
    }
    if value.chars().any(char::is_control) {
        return Err("holds a NUL or another control character");
    }
    Ok(())
}

/// Why `name`, one component of a path a statement writes after the row's values were put
/// into it, cannot be a file or directory name: empty, `.` or `..`, longer than
/// [`MAX_FILE_NAME_BYTES`], or holding a separator or a NUL.
pub fn check_file_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name == "." || name == ".." {
        return Err("names the directory itself or its parent, not a file");
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err("is longer than the 255 bytes of a file name");
    }
    if name.contains(['/', '\\', '\0']) {
        return Err("holds a path separator or a NUL");
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
    fn values_that_would_leave_the_chosen_directory_cannot_name_files() {
        for bad in [
            "",
            "../x",
            "..",
            "a/b",
            "a\\b",
            "x\0y",
            "a\nb",
            "wait..what",
            &"v".repeat(256),
        ] {
            assert!(check_file_name_value(bad).is_err(), "{bad:?}");
        }
        for good in [
            "7",
            "-1",
            "RUSSIA1_20231017",
            "caf\u{e9}",
            "0.5",
            "a b",
            ".hidden",
        ] {
            check_file_name_value(good).unwrap();
        }
        check_file_name_value(&"v".repeat(255)).unwrap();
    }

    #[test]
    fn file_names_are_neither_the_directory_nor_its_parent() {
        for bad in ["", ".", "..", "a/b", "a\\b", "x\0", &"n".repeat(256)] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        for good in ["sheet.png", "..png", "7.jpg", ".hidden.png"] {
            check_file_name(good).unwrap();
        }
    }

    #[test]
    fn table_names_need_only_be_printable() {
        validate_table_name("frames of 2024/10").unwrap();
        assert!(validate_table_name("").is_err());
        assert!(validate_table_name("a\nb").is_err());
    }
}
