//! ESO's archive as its services answer: the TAP service's `dbo.raw` table (a VOTable of raw
//! frames), and the header service (`hdr?DpId=...`, an HTML page with the primary header in a
//! `<pre>`, as astroquery's `Eso.get_headers` reads it). Formats only: no I/O here.

use quick_xml::events::Event;

/// The interferometric instruments whose frames are harvested.
pub(super) const INSTRUMENTS: [&str; 5] = ["GRAVITY", "MATISSE", "PIONIER", "AMBER", "MIDI"];

/// A raw frame as `dbo.raw` lists it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Frame {
    pub dp_id: String,
    /// As the archive writes it (ISO 8601); compared and stored as text.
    pub last_mod_date: String,
}

/// Where a harvest stands: the last frame it imported, in the order frames are listed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cursor {
    pub last_mod_date: String,
    pub dp_id: String,
}

/// ADQL for the next `page` frames after `cursor`, in modification order. Only science and
/// calibration frames can be exposures, so the rest (acquisitions, tests...) is left at ESO:
/// that filter is safe, the type and technique are not (PIONIER's early science says 'IMAGE',
/// MATISSE's remanence frames are typed like science), so the ingest judges those.
pub(super) fn frames_after(cursor: &Cursor, page: usize) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let instruments: Vec<String> = INSTRUMENTS.iter().map(|name| quote(name)).collect();
    format!(
        "SELECT TOP {page} dp_id, last_mod_date FROM dbo.raw \
         WHERE instrument IN ({}) AND dp_cat IN ('SCIENCE', 'CALIB') \
         AND (last_mod_date > {time} OR (last_mod_date = {time} AND dp_id > {id})) \
         ORDER BY last_mod_date, dp_id",
        instruments.join(", "),
        time = quote(&cursor.last_mod_date),
        id = quote(&cursor.dp_id),
    )
}

/// The frames of a TAP answer (VOTable TABLEDATA with `dp_id` and `last_mod_date` columns), or
/// what the service said went wrong.
pub(super) fn read_frames(votable: &str) -> Result<Vec<Frame>, String> {
    let mut reader = quick_xml::Reader::from_str(votable);
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut cell: Option<String> = None;
    let mut error: Option<String> = None;
    let mut in_error = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a VOTable: {e}"))?;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"FIELD" => {
                let name = e
                    .try_get_attribute("name")
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok())
                    .unwrap_or_default();
                names.push(name.to_ascii_lowercase());
            }
            Event::Start(ref e) | Event::Empty(ref e) if e.name().as_ref() == b"INFO" => {
                let attribute = |name: &str| {
                    e.try_get_attribute(name)
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok())
                        .map(|v| v.into_owned())
                };
                if attribute("name").as_deref() == Some("QUERY_STATUS")
                    && attribute("value").as_deref() == Some("ERROR")
                {
                    error = Some(String::new());
                    in_error = matches!(event, Event::Start(_));
                }
            }
            Event::End(e) if e.name().as_ref() == b"INFO" => in_error = false,
            Event::Start(e) if e.name().as_ref() == b"TR" => rows.push(Vec::new()),
            Event::Start(e) if e.name().as_ref() == b"TD" => cell = Some(String::new()),
            Event::Empty(e) if e.name().as_ref() == b"TD" => {
                if let Some(row) = rows.last_mut() {
                    row.push(String::new());
                }
            }
            Event::End(e) if e.name().as_ref() == b"TD" => {
                if let (Some(row), Some(text)) = (rows.last_mut(), cell.take()) {
                    row.push(text);
                }
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| format!("not a VOTable: {e}"))?;
                if let Some(cell) = cell.as_mut() {
                    cell.push_str(&text);
                } else if in_error {
                    error.get_or_insert_with(String::new).push_str(&text);
                }
            }
            _ => {}
        }
    }
    if let Some(message) = error {
        return Err(format!("the TAP service says: {}", message.trim()));
    }
    let column = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("the TAP answer has no {name} column"))
    };
    let (dp_id, last_mod_date) = (column("dp_id")?, column("last_mod_date")?);
    rows.iter()
        .map(|row| match (row.get(dp_id), row.get(last_mod_date)) {
            (Some(id), Some(date)) if !id.trim().is_empty() => Ok(Frame {
                dp_id: id.trim().to_string(),
                last_mod_date: date.trim().to_string(),
            }),
            _ => Err(format!("a TAP row without dp_id or last_mod_date: {row:?}")),
        })
        .collect()
}

/// The header text in a header service page: the `<pre>` element's content, unescaped, up to
/// and including `END`; None when the page holds no header.
pub(super) fn header_from_page(page: &str) -> Option<String> {
    let start = page.find("<pre")?;
    let start = start + page[start..].find('>')? + 1;
    let end = start + page[start..].find("</pre>")?;
    let text = html_escape::decode_html_entities(&page[start..end]);
    let mut header = String::new();
    for line in text.lines() {
        header.push_str(line.trim_end_matches('\r'));
        header.push('\n');
        if line.trim_end() == "END" {
            return Some(header);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frames_query_pages_after_the_cursor() {
        let query = frames_after(
            &Cursor {
                last_mod_date: "2023-05-10T08:47:26".into(),
                dp_id: "MATIS.2023-05-10T08:47:26.437".into(),
            },
            500,
        );
        assert!(query.starts_with("SELECT TOP 500 dp_id, last_mod_date FROM dbo.raw"));
        assert!(query.contains("last_mod_date > '2023-05-10T08:47:26'"));
        assert!(query.contains("dp_id > 'MATIS.2023-05-10T08:47:26.437'"));
        assert!(query.ends_with("ORDER BY last_mod_date, dp_id"));
        // A quote in a cursor cannot end the string.
        let odd = frames_after(
            &Cursor {
                last_mod_date: "x' OR 1=1 --".into(),
                dp_id: String::new(),
            },
            1,
        );
        assert!(odd.contains("'x'' OR 1=1 --'"));
    }

    #[test]
    fn frames_and_errors_are_read_from_tap_answers() {
        let answer = r#"<?xml version="1.0"?>
<VOTABLE version="1.3"><RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE><FIELD name="dp_id" datatype="char" arraysize="*"/><FIELD name="last_mod_date" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
<TR><TD>GRAVI.2022-02-23T00:39:06.024</TD><TD>2022-02-24T10:00:00Z</TD></TR>
<TR><TD>AMBER.2010-04-15T07:12:11.258</TD><TD>2022-02-24T10:00:01Z</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"#;
        let frames = read_frames(answer).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].dp_id, "AMBER.2010-04-15T07:12:11.258");
        let error = r#"<VOTABLE><RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Table dbo.raww not found</INFO></RESOURCE></VOTABLE>"#;
        assert_eq!(
            read_frames(error).unwrap_err(),
            "the TAP service says: Table dbo.raww not found"
        );
    }

    #[test]
    fn the_header_is_the_pages_pre_element() {
        let page = "<html><body><h1>Header</h1><pre>SIMPLE  =                    T\nOBJECT  = 'A &amp; B'\nEND\n</pre></body></html>";
        assert_eq!(
            header_from_page(page).unwrap(),
            "SIMPLE  =                    T\nOBJECT  = 'A & B'\nEND\n"
        );
        assert_eq!(header_from_page("<html>No such file</html>"), None);
        assert_eq!(header_from_page("<pre>SIMPLE = T</pre>"), None, "no END");
    }
}
