//! obsportal: an IVOA TAP/ADQL server and observation portal for optical-interferometry
//! observations. See ARCHITECTURE.md for the map.

pub mod datalink;
pub mod db;
pub mod formats;
pub mod geometry;
pub mod harvest;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod mjd;
pub mod moc;
pub mod portal;
pub mod query;
pub mod results;
pub mod schema;
pub mod scs;
pub mod server;
pub mod tap;
pub mod upload;
pub mod votable;
