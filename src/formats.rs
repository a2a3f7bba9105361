//! Output formats, known in one place: the names and aliases clients ask for (TAP's
//! RESPONSEFORMAT, the API's `format`), their MIME types, what TAPRegExt calls them in
//! capabilities, and the streaming writer of each.

use crate::results::output_buffer;
use crate::votable::{
    Binary2Writer, CsvWriter, Field, FitsWriter, JsonWriter, ParquetWriter, Preamble, ResultWriter,
    Separator, TableDataWriter, TimestampStyle,
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    TableData,
    Binary2,
    Csv,
    Tsv,
    Json,
    Fits,
    Parquet,
}

/// How a format is named and sent.
pub struct Description {
    pub format: Format,
    /// The MIME type capabilities declare (and a client may ask for by it).
    pub mime: &'static str,
    /// The Content-Type of an answer.
    pub content_type: &'static str,
    /// Short names a client may use; the first is the one to show.
    pub aliases: &'static [&'static str],
    /// TAPRegExt's identifier of the format, where it has one.
    pub ivo_id: Option<&'static str>,
}

const VOTABLE: &str = "application/x-votable+xml; charset=utf-8";

/// Every format this service writes; the first is the default.
pub const FORMATS: &[Description] = &[
    Description {
        format: Format::TableData,
        mime: "application/x-votable+xml",
        content_type: VOTABLE,
        aliases: &[
            "votable",
            "votable/td",
            "text/xml",
            "application/x-votable+xml;serialization=TABLEDATA",
        ],
        ivo_id: Some("ivo://ivoa.net/std/TAPRegExt#output-votable-td"),
    },
    Description {
        format: Format::Binary2,
        mime: "application/x-votable+xml;serialization=BINARY2",
        content_type: VOTABLE,
        aliases: &["votable/b2", "binary2"],
        ivo_id: Some("ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"),
    },
    Description {
        format: Format::Csv,
        mime: "text/csv",
        content_type: "text/csv; charset=utf-8; header=present",
        aliases: &["csv"],
        ivo_id: None,
    },
    Description {
        format: Format::Tsv,
        mime: "text/tab-separated-values",
        content_type: "text/tab-separated-values; charset=utf-8",
        aliases: &["tsv"],
        ivo_id: None,
    },
    Description {
        format: Format::Json,
        mime: "application/json",
        content_type: "application/json",
        aliases: &["json"],
        ivo_id: None,
    },
    // Written from a spill file once the query has ended: FITS needs the row count first.
    Description {
        format: Format::Fits,
        mime: "application/fits",
        content_type: "application/fits",
        aliases: &["fits"],
        ivo_id: None,
    },
    // VOParquet: Parquet with the VOTable metadata in its key-value metadata.
    Description {
        format: Format::Parquet,
        mime: "application/vnd.apache.parquet",
        content_type: "application/vnd.apache.parquet",
        aliases: &[
            "parquet",
            "votable/parquet",
            "application/x-votable+xml;serialization=parquet",
        ],
        ivo_id: None,
    },
];

impl Format {
    /// The format a client named by MIME type or alias (ASCII case ignored, as MIME types are).
    pub fn named(name: &str) -> Option<Format> {
        let name = name.trim();
        FORMATS
            .iter()
            .find(|d| {
                d.mime.eq_ignore_ascii_case(name)
                    || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|d| d.format)
    }

    /// The short names of every format, for an error message: "votable, ..., csv or json".
    pub fn choices() -> String {
        let names: Vec<&str> = FORMATS.iter().map(|d| d.aliases[0]).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    pub fn description(self) -> &'static Description {
        FORMATS
            .iter()
            .find(|d| d.format == self)
            .expect("every format is described")
    }

    pub fn content_type(self) -> &'static str {
        self.description().content_type
    }

    /// A writer of this format for a result with these fields; the preamble goes where the
    /// format has room for it (VOTable), timestamps are written in `style`.
    pub fn writer(
        self,
        fields: &[Field],
        preamble: &Preamble,
        style: TimestampStyle,
    ) -> Box<dyn ResultWriter> {
        let memory = "writing to memory cannot fail";
        let out = output_buffer();
        match self {
            Format::TableData => {
                Box::new(TableDataWriter::start(out, preamble, fields, style).expect(memory))
            }
            Format::Binary2 => {
                Box::new(Binary2Writer::start(out, preamble, fields, style).expect(memory))
            }
            Format::Csv => Box::new(CsvWriter::start(out, fields, style).expect(memory)),
            Format::Tsv => Box::new(
                CsvWriter::with_separator(out, fields, style, Separator::Tab).expect(memory),
            ),
            Format::Json => {
                Box::new(JsonWriter::start(out, preamble, fields, style).expect(memory))
            }
            // A temporary file the system cannot make is a server fault, said as one.
            Format::Fits => Box::new(
                FitsWriter::start(fields, style).expect("a temporary file for a FITS result"),
            ),
            Format::Parquet => Box::new(
                ParquetWriter::start(preamble, fields, style).expect("a Parquet schema of fields"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_found_by_any_of_their_names() {
        assert_eq!(Format::named("votable"), Some(Format::TableData));
        assert_eq!(Format::named(" CSV "), Some(Format::Csv));
        assert_eq!(
            Format::named("application/x-votable+xml;serialization=BINARY2"),
            Some(Format::Binary2)
        );
        assert_eq!(Format::named("application/fits"), Some(Format::Fits));
        assert_eq!(Format::named("PARQUET"), Some(Format::Parquet));
        assert_eq!(Format::named("hdf5"), None);
        assert_eq!(
            Format::choices(),
            "votable, votable/b2, csv, tsv, json, fits or parquet"
        );
        for description in FORMATS {
            assert_eq!(Format::named(description.mime), Some(description.format));
        }
    }
}
