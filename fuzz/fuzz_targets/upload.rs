//! Uploaded tables (VOTable TABLEDATA, BINARY, BINARY2, CSV) as the service reads them never
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    obsportal::upload::read_for_fuzzing(data);
});
