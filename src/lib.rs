//! obsportal: an IVOA TAP/ADQL server and observation portal for optical-interferometry
//! observations. See ARCHITECTURE.md for the map.

pub mod db;
pub mod ingest;
pub mod schema;
pub mod server;
pub mod tap;
