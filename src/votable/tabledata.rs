//! VOTable 1.4 with a TABLEDATA table. The document structure goes through quick-xml; rows
//! are written as bytes directly, because they are most of the output.

use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{
    format_double, take_keeping_capacity, xml_safe, Cell, Field, Preamble, QueryStatus,
    ResultWriter, ServiceDescriptor, TimestampStyle,
};

/// VOTable 1.4 keeps the 1.3 namespace.
const NAMESPACE: &str = "http://www.ivoa.net/xml/VOTable/v1.3";

pub struct TableDataWriter<W: Write> {
    xml: quick_xml::Writer<W>,
    datalink: Option<ServiceDescriptor>,
    timestamps: TimestampStyle,
    /// Per column: whether it is a double, whose NULL is written `NaN` (what ASPRO2 reads).
    doubles: Vec<bool>,
}

impl<W: Write> TableDataWriter<W> {
    /// Writes everything up to the first row.
    pub fn start(
        out: W,
        preamble: &Preamble,
        fields: &[Field],
        timestamps: TimestampStyle,
    ) -> io::Result<Self> {
        let mut xml = open_document(out, preamble, fields)?;
        xml.write_event(Event::Start(BytesStart::new("TABLEDATA")))?;
        xml.get_mut().write_all(b"\n")?;
        Ok(TableDataWriter {
            xml,
            datalink: ServiceDescriptor::for_table(preamble, fields),
            timestamps,
            doubles: fields
                .iter()
                .map(|f| f.datatype == super::Datatype::Double)
                .collect(),
        })
    }

    pub fn get_mut(&mut self) -> &mut W {
        self.xml.get_mut()
    }

    fn end_document(&mut self, status: &QueryStatus) -> io::Result<()> {
        self.xml
            .write_event(Event::End(BytesEnd::new("TABLEDATA")))?;
        close_document(&mut self.xml, status, self.datalink.as_ref())
    }
}

/// The document up to and including `<DATA>`: the same for every serialisation.
pub(super) fn open_document<W: Write>(
    out: W,
    preamble: &Preamble,
    fields: &[Field],
) -> io::Result<quick_xml::Writer<W>> {
    let mut xml = quick_xml::Writer::new_with_indent(out, b' ', 1);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut votable = BytesStart::new("VOTABLE");
    votable.push_attribute(("version", "1.4"));
    votable.push_attribute(("xmlns", NAMESPACE));
    votable.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    xml.write_event(Event::Start(votable))?;
    let mut resource = BytesStart::new("RESOURCE");
    resource.push_attribute(("type", "results"));
    xml.write_event(Event::Start(resource))?;
    for (name, value) in &preamble.infos {
        write_info(&mut xml, name, value, None)?;
    }
    for (name, value) in &preamble.params {
        let mut param = BytesStart::new("PARAM");
        param.push_attribute(("ID", name.as_str()));
        param.push_attribute(("arraysize", "*"));
        param.push_attribute(("datatype", "unicodeChar"));
        param.push_attribute(("name", name.as_str()));
        param.push_attribute(("value", &*xml_safe(value)));
        xml.write_event(Event::Empty(param))?;
    }
    xml.write_event(Event::Start(BytesStart::new("TABLE")))?;
    for field in fields {
        write_field(&mut xml, field)?;
    }
    xml.write_event(Event::Start(BytesStart::new("DATA")))?;
    Ok(xml)
}

/// Everything after the serialisation's element: `</DATA></TABLE>`, the status when it is not
/// OK (DALI: after the table it concerns), the DataLink service descriptor when the table has
/// one, and the end of the document.
pub(super) fn close_document<W: Write>(
    xml: &mut quick_xml::Writer<W>,
    status: &QueryStatus,
    datalink: Option<&ServiceDescriptor>,
) -> io::Result<()> {
    for name in ["DATA", "TABLE"] {
        xml.write_event(Event::End(BytesEnd::new(name)))?;
    }
    match status {
        QueryStatus::Ok => {}
        QueryStatus::Overflow => write_info(xml, "QUERY_STATUS", "OVERFLOW", None)?,
        QueryStatus::Error(message) => write_info(xml, "QUERY_STATUS", "ERROR", Some(message))?,
    }
    xml.write_event(Event::End(BytesEnd::new("RESOURCE")))?;
    if let Some(descriptor) = datalink {
        write_service_descriptor(xml, descriptor)?;
    }
    xml.write_event(Event::End(BytesEnd::new("VOTABLE")))?;
    xml.get_mut().write_all(b"\n")
}

/// `<RESOURCE type="meta" utype="adhoc:service">` calling the links endpoint with the
/// descriptor's column as ID (DataLink 1.1, 4.1).
fn write_service_descriptor<W: Write>(
    xml: &mut quick_xml::Writer<W>,
    descriptor: &ServiceDescriptor,
) -> io::Result<()> {
    let mut resource = BytesStart::new("RESOURCE");
    resource.push_attribute(("type", "meta"));
    resource.push_attribute(("utype", "adhoc:service"));
    resource.push_attribute(("name", "links"));
    xml.write_event(Event::Start(resource))?;
    let param = |name: &str, value: &str| {
        let mut param = BytesStart::new("PARAM");
        param.push_attribute(("name", name));
        param.push_attribute(("datatype", "char"));
        param.push_attribute(("arraysize", "*"));
        param.push_attribute(("value", value));
        param
    };
    for (name, value) in [
        ("standardID", super::DATALINK_LINKS),
        ("accessURL", descriptor.access_url.as_str()),
        ("contentType", "application/x-votable+xml;content=datalink"),
    ] {
        xml.write_event(Event::Empty(param(name, value)))?;
    }
    let mut group = BytesStart::new("GROUP");
    group.push_attribute(("name", "inputParams"));
    xml.write_event(Event::Start(group))?;
    let mut id = param("ID", "");
    id.push_attribute(("ref", descriptor.field.as_str()));
    xml.write_event(Event::Empty(id))?;
    xml.write_event(Event::End(BytesEnd::new("GROUP")))?;
    xml.write_event(Event::End(BytesEnd::new("RESOURCE")))?;
    Ok(())
}

impl ResultWriter for TableDataWriter<Vec<u8>> {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        // Straight into the output: rows are most of it.
        let row = self.xml.get_mut();
        row.extend_from_slice(b"<TR>");
        for (cell, is_double) in cells.iter().zip(&self.doubles) {
            match cell {
                Cell::Null if *is_double => row.extend_from_slice(b"<TD>NaN"),
                Cell::Null => {
                    row.extend_from_slice(b"<TD/>");
                    continue;
                }
                Cell::Text(text) => {
                    row.extend_from_slice(b"<TD>");
                    escape_text(text, row);
                }
                Cell::Integer(value) => {
                    row.extend_from_slice(b"<TD>");
                    row.extend_from_slice(itoa::Buffer::new().format(*value).as_bytes());
                }
                Cell::Double(value) => {
                    row.extend_from_slice(b"<TD>");
                    format_double(*value, row);
                }
                Cell::Boolean(value) => {
                    row.extend_from_slice(if *value { b"<TD>T" } else { b"<TD>F" });
                }
                Cell::Timestamp(timestamp) => {
                    row.extend_from_slice(b"<TD>");
                    row.extend_from_slice(self.timestamps.format(timestamp).as_bytes());
                }
            }
            row.extend_from_slice(b"</TD>");
        }
        row.extend_from_slice(b"</TR>\n");
        Ok(())
    }

    fn finish(&mut self, status: &QueryStatus) -> io::Result<()> {
        self.end_document(status)
    }

    fn take_output(&mut self) -> Vec<u8> {
        take_keeping_capacity(self.xml.get_mut())
    }

    fn buffered_len(&self) -> usize {
        self.xml.get_ref().len()
    }

    fn reports_errors_inline(&self) -> bool {
        true
    }
}

fn write_field<W: Write>(xml: &mut quick_xml::Writer<W>, field: &Field) -> io::Result<()> {
    let mut element = BytesStart::new("FIELD");
    // A name can be a query's alias, with whatever characters it was written.
    let name = xml_safe(&field.name);
    element.push_attribute(("ID", &*name));
    if let Some(arraysize) = &field.arraysize {
        element.push_attribute(("arraysize", arraysize.as_str()));
    }
    element.push_attribute(("datatype", field.datatype.as_str()));
    element.push_attribute(("name", &*name));
    for (attribute, value) in [
        ("ucd", &field.ucd),
        ("unit", &field.unit),
        ("utype", &field.utype),
        ("xtype", &field.xtype),
    ] {
        if let Some(value) = value {
            element.push_attribute((attribute, value.as_str()));
        }
    }
    match &field.description {
        Some(description) => {
            xml.write_event(Event::Start(element))?;
            xml.create_element("DESCRIPTION")
                .write_text_content(BytesText::new(description))?;
            xml.write_event(Event::End(BytesEnd::new("FIELD")))?;
        }
        None => xml.write_event(Event::Empty(element))?,
    }
    Ok(())
}

fn write_info<W: Write>(
    xml: &mut quick_xml::Writer<W>,
    name: &str,
    value: &str,
    content: Option<&str>,
) -> io::Result<()> {
    let mut info = BytesStart::new("INFO");
    info.push_attribute(("name", name));
    info.push_attribute(("value", &*xml_safe(value)));
    match content {
        Some(text) => {
            xml.write_event(Event::Start(info))?;
            xml.write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
            xml.write_event(Event::End(BytesEnd::new("INFO")))?;
        }
        None => xml.write_event(Event::Empty(info))?,
    }
    Ok(())
}

/// Bytes `escape_text` must look at: markup, control characters other than tab and line
/// breaks, and 0xEF, which starts U+FFFE and U+FFFF.
const ATTENTION: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = !matches!(byte as u8, b'\t' | b'\n' | b'\r');
        byte += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[0xEF] = true;
    table
};

/// Text as XML character data. Runs of bytes that need nothing are copied in one go: most
/// text needs no escaping at all.
fn escape_text(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut done = 0;
    while let Some(offset) = bytes[done..].iter().position(|&b| ATTENTION[b as usize]) {
        let index = done + offset;
        out.extend_from_slice(&bytes[done..index]);
        let (replacement, width): (&[u8], usize) = match bytes[index] {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            // U+FFFE and U+FFFF are not allowed in XML; other characters starting 0xEF are.
            0xEF if matches!(bytes.get(index + 1..index + 3), Some([0xBF, 0xBE | 0xBF])) => {
                ("\u{fffd}".as_bytes(), 3)
            }
            0xEF => (&bytes[index..index + 1], 1),
            // Control characters are not allowed in XML either.
            _ => ("\u{fffd}".as_bytes(), 1),
        };
        out.extend_from_slice(replacement);
        done = index + width;
    }
    out.extend_from_slice(&bytes[done..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_text_and_replaces_what_xml_forbids() {
        let mut out = Vec::new();
        escape_text("é\u{ffff}x>\t\u{efbf}\u{fffe}&\u{7}ok", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "é\u{fffd}x&gt;\t\u{efbf}\u{fffd}&amp;\u{fffd}ok"
        );
    }
    use crate::votable::Datatype;

    fn field(name: &str, datatype: Datatype) -> Field {
        let arraysize = (datatype == Datatype::UnicodeChar).then_some("*");
        Field {
            ucd: Some("meta.id".into()),
            ..Field::new(name, datatype, arraysize)
        }
    }

    #[test]
    fn writes_a_complete_document_with_escaped_cells_and_a_trailing_status() {
        let preamble = Preamble {
            params: vec![("status".into(), "OK".into())],
            ..Preamble::default()
        };
        let fields = [
            field("name", Datatype::UnicodeChar),
            field("x", Datatype::Double),
            field("n", Datatype::Int),
        ];
        let mut writer =
            TableDataWriter::start(Vec::new(), &preamble, &fields, TimestampStyle::ObsPortal)
                .unwrap();
        writer
            .write_row(&[
                Cell::Text("a<b & \u{1}c"),
                Cell::Double(6e-7),
                Cell::Integer(3),
            ])
            .unwrap();
        writer
            .write_row(&[Cell::Null, Cell::Null, Cell::Null])
            .unwrap();
        writer
            .finish(&QueryStatus::Error("timeout <60 s>".into()))
            .unwrap();
        let text = String::from_utf8(writer.take_output()).unwrap();
        assert!(text.contains("<PARAM ID=\"status\" arraysize=\"*\" datatype=\"unicodeChar\" name=\"status\" value=\"OK\"/>"), "{text}");
        assert!(
            text.contains("<FIELD ID=\"x\" datatype=\"double\" name=\"x\" ucd=\"meta.id\"/>"),
            "{text}"
        );
        assert!(
            text.contains("<TR><TD>a&lt;b &amp; \u{fffd}c</TD><TD>6e-7</TD><TD>3</TD></TR>"),
            "{text}"
        );
        assert!(text.contains("<TR><TD/><TD>NaN</TD><TD/></TR>"), "{text}");
        let after_table = &text[text.find("</TABLE>").unwrap()..];
        assert!(
            after_table.contains(
                "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">timeout &lt;60 s&gt;</INFO>"
            ),
            "{text}"
        );
        assert!(text.trim_end().ends_with("</VOTABLE>"));
    }
}
