//! JSON: `{"metadata": [FIELD-like objects], "data": [[row], ...], "query_status": "OK"}`,
//! written as rows come, with `"params": {name: value}` first when the answer has PARAMs (the
//! change feed's `next`, the API's `maxrec`). The status comes last, so an error after the first row is reported
//! there (`"query_status": "ERROR", "error": "..."`), and OVERFLOW likewise.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{
    take_keeping_capacity, Cell, Field, Preamble, QueryStatus, ResultWriter, TimestampStyle,
};

pub struct JsonWriter<W: Write> {
    out: W,
    timestamps: TimestampStyle,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    pub fn start(
        mut out: W,
        preamble: &Preamble,
        fields: &[Field],
        timestamps: TimestampStyle,
    ) -> io::Result<Self> {
        let metadata: Vec<Value> = fields
            .iter()
            .map(|f| {
                json!({"name": f.name, "datatype": f.datatype.as_str(), "arraysize": f.arraysize,
                       "xtype": f.xtype, "unit": f.unit, "ucd": f.ucd, "utype": f.utype, "description": f.description})
            })
            .collect();
        out.write_all(b"{")?;
        if !preamble.params.is_empty() {
            let params: serde_json::Map<String, Value> = preamble
                .params
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            out.write_all(b"\"params\":")?;
            serde_json::to_writer(&mut out, &params)?;
            out.write_all(b",\n")?;
        }
        out.write_all(b"\"metadata\":")?;
        serde_json::to_writer(&mut out, &metadata)?;
        out.write_all(b",\n\"data\":[")?;
        Ok(JsonWriter {
            out,
            timestamps,
            rows: 0,
        })
    }
}

impl ResultWriter for JsonWriter<Vec<u8>> {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        let out = &mut self.out;
        out.extend_from_slice(if self.rows == 0 { b"\n[" } else { b",\n[" });
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            match cell {
                Cell::Null => out.extend_from_slice(b"null"),
                Cell::Double(value) if !value.is_finite() => out.extend_from_slice(b"null"),
                Cell::Double(value) => write!(out, "{value:?}")?,
                Cell::Integer(value) => write!(out, "{value}")?,
                Cell::Boolean(value) => {
                    out.extend_from_slice(if *value { b"true" } else { b"false" })
                }
                Cell::Text(text) => serde_json::to_writer(&mut *out, text)?,
                Cell::Timestamp(timestamp) => {
                    serde_json::to_writer(&mut *out, &*self.timestamps.format(timestamp))?
                }
            }
        }
        out.push(b']');
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self, status: &QueryStatus) -> io::Result<()> {
        let end = match status {
            QueryStatus::Ok => json!({"query_status": "OK"}),
            QueryStatus::Overflow => json!({"query_status": "OVERFLOW"}),
            QueryStatus::Error(message) => json!({"query_status": "ERROR", "error": message}),
        };
        self.out.extend_from_slice(b"\n],");
        // The status object's members, without its braces, close the document.
        let members = end.to_string();
        self.out.extend_from_slice(&members.as_bytes()[1..]);
        self.out.push(b'\n');
        Ok(())
    }

    fn take_output(&mut self) -> Vec<u8> {
        take_keeping_capacity(&mut self.out)
    }

    fn buffered_len(&self) -> usize {
        self.out.len()
    }

    fn reports_errors_inline(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votable::Datatype;

    #[test]
    fn writes_valid_json_with_the_status_last() {
        let fields = [
            Field::new("id", Datatype::Char, Some("*")),
            Field {
                unit: Some("deg".into()),
                ..Field::new("x", Datatype::Double, None)
            },
        ];
        let preamble = Preamble {
            params: vec![("next".into(), "/changes?since=x".into())],
            ..Preamble::default()
        };
        let mut writer =
            JsonWriter::start(Vec::new(), &preamble, &fields, TimestampStyle::Dali).unwrap();
        writer
            .write_row(&[Cell::Text("a\"b"), Cell::Double(1.5)])
            .unwrap();
        writer
            .write_row(&[Cell::Null, Cell::Double(f64::NAN)])
            .unwrap();
        writer.finish(&QueryStatus::Overflow).unwrap();
        let value: Value = serde_json::from_slice(&writer.take_output()).unwrap();
        assert_eq!(value["metadata"][1]["unit"], "deg");
        assert_eq!(value["data"], json!([["a\"b", 1.5], [null, null]]));
        assert_eq!(value["query_status"], "OVERFLOW");
        assert_eq!(value["params"]["next"], "/changes?since=x");
    }
}
