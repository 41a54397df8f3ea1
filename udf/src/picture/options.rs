//! Reading a picture's options: whole numbers within bounds, colours, texts.

use std::ops::RangeInclusive;

use datafusion::common::{Result, plan_err};
use image::Rgb;

use super::canvas::parse_colour;
use crate::analysis::params::Params;

/// Whole-number option `name`, `default` when not given, refused outside `range`.
pub fn bounded(
    options: &Params,
    name: &str,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32> {
    let Some(value) = options.whole(name) else {
        return Ok(default);
    };
    if value < *range.start() as i64 || value > *range.end() as i64 {
        return plan_err!(
            "{}: {name} must be from {} to {}, not {value}",
            options.context(),
            range.start(),
            range.end()
        );
    }
    Ok(value as u32)
}

/// Whole-number option `name`, if given, refused outside `range`.
pub fn bounded_opt(
    options: &Params,
    name: &str,
    range: RangeInclusive<u32>,
) -> Result<Option<u32>> {
    match options.whole(name) {
        None => Ok(None),
        Some(_) => bounded(options, name, 0, range).map(Some),
    }
}

/// Colour option `name`, `default` when not given.
pub fn colour(options: &Params, name: &str, default: Rgb<u8>) -> Result<Rgb<u8>> {
    match options.text(name) {
        None => Ok(default),
        Some(text) => parse_colour(options.context(), name, text),
    }
}

/// Text option `name`, if given and not empty.
pub fn text<'a>(options: &'a Params, name: &str) -> Option<&'a str> {
    options.text(name).filter(|text| !text.is_empty())
}
