//! Finds headers in what the operator names: files, directories (recursively), `.tar` and
//! `.tar.gz` bundles, gzip-compressed files. FITS files (`.fits`, `.fits.gz`) give their primary
//! header only; `.csv` files are CHARA observation logs or the positions tables that place
//! their stars (`chara_log`), told apart by their header line; any other file is read as
//! header text, possibly several headers in a row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

pub(crate) use super::chara_log::Positions;
use super::chara_log::{self, CsvKind};
use super::fits::{Header, HeaderReader};
use super::IngestError;

/// Whether `paths` may hold a CHARA log: anything but files named as header text or FITS
/// (directories and bundles are not looked into).
pub(crate) fn may_hold_logs(paths: &[PathBuf]) -> bool {
    const HEADERS_ONLY: [&str; 8] = [
        ".hdr", ".txt", ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz",
    ];
    paths.iter().any(|path| {
        let name = path.to_string_lossy().to_ascii_lowercase();
        !path.is_file() || !HEADERS_ONLY.iter().any(|end| name.ends_with(end))
    })
}

/// Calls `each(source name, header)` for every header under `paths`, in a stable order.
pub(crate) fn for_each_header(
    paths: &[PathBuf],
    mut positions: Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    // `positions` places the stars of CHARA logs; tables read on the way add to it.
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = Vec::new();
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.map_err(|error| IngestError::Io {
                    path: path.display().to_string(),
                    error: error.into(),
                })?;
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
            for file in files {
                read_file(&file, &mut positions, each)?;
            }
        } else {
            read_file(path, &mut positions, each)?;
        }
    }
    Ok(())
}

fn read_file(
    path: &Path,
    positions: &mut Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| IngestError::Io {
        path: name.clone(),
        error,
    })?;
    read_stream(&name, Box::new(file), positions, each)
}

/// Dispatches on the name: bundles are opened, compressed files decompressed, the rest read.
pub(crate) fn read_stream(
    name: &str,
    input: Box<dyn Read + '_>,
    positions: &mut Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        return read_tar(name, Box::new(MultiGzDecoder::new(input)), positions, each);
    }
    if lower.ends_with(".tar") {
        return read_tar(name, input, positions, each);
    }
    if lower.ends_with(".csv") {
        return read_csv(name, input, positions, each);
    }
    let primary_only = [".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz"]
        .iter()
        .any(|suffix| lower.ends_with(suffix));
    let input: Box<dyn Read> = if lower.ends_with(".gz") {
        Box::new(MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let mut reader = HeaderReader::new(BufReader::with_capacity(1 << 16, input), primary_only);
    loop {
        match reader.next_header() {
            Ok(Some(header)) => each(name, header)?,
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(IngestError::Corrupt {
                    source_name: name.to_string(),
                    error,
                })
            }
        }
    }
}

fn read_tar(
    name: &str,
    input: Box<dyn Read + '_>,
    positions: &mut Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let io_error = |error| IngestError::Io {
        path: name.to_string(),
        error,
    };
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = format!("{name}:{}", entry.path().map_err(io_error)?.display());
        read_stream(&member, Box::new(entry), positions, each)?;
    }
    Ok(())
}

/// A CSV table: a CHARA log or a positions table, by its header line.
fn read_csv(
    name: &str,
    input: Box<dyn Read + '_>,
    positions: &mut Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut lines = BufReader::new(input);
    let mut header_line = String::new();
    lines
        .read_line(&mut header_line)
        .map_err(|error| IngestError::Io {
            path: name.to_string(),
            error,
        })?;
    match chara_log::csv_kind(&header_line) {
        Some(CsvKind::Log) => chara_log::read_log(name, lines, positions, each),
        Some(CsvKind::Positions) => chara_log::read_positions(name, lines, positions),
        None => Err(IngestError::BadTable {
            source_name: name.to_string(),
            line: 1,
            problem: format!(
                "a CSV file is a CHARA log (UT-DATE,STAR,...,T0_500nm) or a positions table (name,ra,dec), not {:?}",
                header_line.trim()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_header_files_are_known_to_hold_no_log() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let file = |name: &str| folder.join(name);
        assert!(!may_hold_logs(&[file("headers/night.hdr")]));
        assert!(!may_hold_logs(&[file("chara-raw/spica_eps_per.fits")]));
        assert!(may_hold_logs(&[file("chara/observations.csv")]));
        assert!(may_hold_logs(&[
            file("headers/night.hdr"),
            folder.join("chara")
        ]));
    }
}
