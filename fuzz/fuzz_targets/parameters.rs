//! Form parameters (a query string or url-encoded body) as the API, the search page, the
//! upload specifications and a plan's target list read them never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obsportal::http::Parameters;

fuzz_target!(|data: &[u8]| {
    let pairs = form_urlencoded::parse(data).into_owned().collect();
    let parameters = Parameters::new(pairs);
    let _ = obsportal::portal::search::Search::from_parameters(&parameters);
    let _ = obsportal::upload::specs(&parameters);
});
