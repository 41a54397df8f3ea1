use super::*;

#[test]
fn csv_fields_with_commas_quotes_and_breaks_are_quoted() {
    assert_eq!(csv_field("Olga"), "Olga");
    assert_eq!(csv_field("Carlson, Tucker"), "\"Carlson, Tucker\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv_field(" padded"), "\" padded\"");
    assert_eq!(csv_field(""), "");
}

#[test]
fn xml_text_is_escaped_and_control_characters_replaced() {
    assert_eq!(
        xml(r#"<a & "b" 'c'>"#),
        "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
    );
    assert_eq!(xml("tab\there\nnew"), "tab&#9;here&#10;new");
    assert_eq!(xml("bell\u{7}"), "bell\u{FFFD}");
    assert_eq!(xml("Zoë"), "Zoë");
}

#[test]
fn crop_names_are_plain_file_names_unique_per_id() {
    assert_eq!(crop_file_name("3"), "3.jpg");
    assert_eq!(crop_file_name("news/3"), "news%2F3.jpg");
    assert_eq!(crop_file_name(".."), "%2E%2E.jpg");
    assert_eq!(crop_file_name("é"), "%C3%A9.jpg");
    assert_ne!(crop_file_name("a%2F"), crop_file_name("a/"));
}
