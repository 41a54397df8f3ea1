//! Small pieces of HTML writing the report page shares.

use std::time::{SystemTime, UNIX_EPOCH};

/// `text` safe inside an HTML element or a quoted attribute value.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `n` with its thousands grouped: `12,345`.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `time` in UTC, to the second: `2024-05-01 03:00:12 UTC`.
pub(crate) fn utc_time(time: SystemTime) -> String {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    };
    match arrow::temporal_conversions::timestamp_s_to_datetime(seconds) {
        Some(time) => format!("{} UTC", time.format("%Y-%m-%d %H:%M:%S")),
        None => format!("{seconds} s after 1970 UTC"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn helpers_escape_group_and_date() {
        assert_eq!(escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
        let time = UNIX_EPOCH + Duration::from_secs(1_714_532_412);
        assert_eq!(utc_time(time), "2024-05-01 03:00:12 UTC");
    }
}
