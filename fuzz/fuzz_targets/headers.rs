//! Header files as an import reads them never panic: the first byte picks how the input is
//! named (text headers, FITS, gzip, tar, a CSV log), the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = ["a.hdr", "a.fits", "a.hdr.gz", "a.tar", "log.csv", "a.fits.gz"];

fuzz_target!(|data: &[u8]| {
    if let Some((&which, file)) = data.split_first() {
        obsportal::ingest::read_for_fuzzing(NAMES[which as usize % NAMES.len()], file);
    }
});
