//! "Already observed?" for a whole observing plan. `/search.votable` given many targets (a
//! `targets` table, VOTable or CSV with a name, ra and dec [deg]; or `ra` and `dec` repeated,
//! with `name` optionally) answers in one document what the single-target search answers for
//! each, every row followed by the input target it belongs to (`input_index`, from 1 in the
//! order given, and `input_target`, its name). The list is loaded like a TAP upload, as
//! `TAP_UPLOAD.plan` numbered in its order, and joined to the exposures by position.

use adql::build::{NearEach, Query};

use super::search::{parse_angle, parse_number, Search, DEFAULT_RADIUS_ARCSEC};
use crate::http::{Parameters, ServiceError};
use crate::upload::{Kind, Upload, UploadLimits};
use crate::votable::{Datatype, Field};

/// The list's name in ADQL, and the row-number column the service adds to it.
const LIST: &str = "plan";
const INDEX: &str = "input_index";
/// Names a target list's name column goes by, first found wins (else the UCD meta.id;meta.main).
const NAME_COLUMNS: &[&str] = &["name", "target", "target_name", "object", "main_id", "id"];

/// A checked plan: its targets, ready to load, and how to find each one's exposures.
pub(super) struct Plan {
    pub(super) targets: Upload,
    ra: String,
    dec: String,
    name: Option<String>,
    radius_arcsec: f64,
}

impl Plan {
    /// The plan a request gives, or None when it names one target or none (the single-target
    /// search, which ASPRO2 sends, is unchanged). With a plan, the rest of the parameters are
    /// the search each target's exposures must match (`Search`, without its cone).
    pub(super) async fn from_parameters(
        parameters: &Parameters,
        limits: &UploadLimits,
    ) -> Result<Option<(Plan, Search)>, ServiceError> {
        let repeated = |name: &str| {
            parameters
                .pairs
                .iter()
                .filter(|(given, _)| given.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
        };
        let table = parameters
            .file("targets")
            .map(|bytes| bytes.to_vec())
            .or_else(|| {
                parameters
                    .get("targets")
                    .map(|text| text.as_bytes().to_vec())
            });
        let (ras, decs) = (repeated("ra"), repeated("dec"));
        let bytes = match table {
            Some(_) if !ras.is_empty() || !decs.is_empty() => {
                return Err(ServiceError::bad_request(
                    "give the targets either as a targets table or as ra and dec, not both",
                ))
            }
            Some(bytes) => bytes,
            None if ras.len() <= 1 && decs.len() <= 1 => return Ok(None),
            None => list_as_csv(&ras, &decs, &repeated("name"))?.into_bytes(),
        };
        let targets = Upload::read_bytes(LIST, bytes, limits)
            .await?
            .numbered(INDEX)?;
        let Some((ra, dec)) = targets.position() else {
            return Err(ServiceError::bad_request(
                "the targets table needs a position: columns ra and dec in degrees (or with \
                 UCDs pos.eq.ra and pos.eq.dec)",
            ));
        };
        let (ra, dec) = (ra.to_string(), dec.to_string());
        let name = name_column(&targets);
        let radius_arcsec = match parameters.get("radius") {
            None => DEFAULT_RADIUS_ARCSEC,
            Some(text) => match parse_number("radius", text)? {
                radius if radius > 0.0 && radius <= 3600.0 => radius,
                _ => {
                    return Err(ServiceError::bad_request(format!(
                        "radius={text:?}: around each target of a plan, more than 0 and at \
                         most 3600 arcsec"
                    )))
                }
            },
        };
        // The search each target's exposures must match: every parameter but the positions.
        let rest = Parameters::new(
            parameters
                .pairs
                .iter()
                .filter(|(name, _)| {
                    !["ra", "dec", "radius", "name", "targets"]
                        .iter()
                        .any(|taken| name.eq_ignore_ascii_case(taken))
                })
                .cloned()
                .collect(),
        );
        let search = Search::from_parameters(&rest)?;
        let plan = Plan {
            targets,
            ra,
            dec,
            name,
            radius_arcsec,
        };
        Ok(Some((plan, search)))
    }

    /// `query` (the single-target search's, without a cone) for every target of the plan, in
    /// the plan's order, with the target's number and name after the query's columns.
    pub(super) fn query(&self, query: Query) -> Query {
        let mut columns = vec![(INDEX.to_string(), INDEX.to_string())];
        if let Some(name) = &self.name {
            columns.push((name.clone(), "input_target".to_string()));
        }
        query.near_each(NearEach {
            list: LIST.into(),
            ra_column: self.ra.clone(),
            dec_column: self.dec.clone(),
            radius: self.radius_arcsec / 3600.0,
            table_ra: "target_ra".into(),
            table_dec: "target_dec".into(),
            columns,
            order_column: Some(INDEX.into()),
        })
    }

    /// The FIELDs of the columns `query` adds.
    pub(super) fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field {
            ucd: Some("meta.number".into()),
            description: Some("The input target: its number in the plan, from 1".into()),
            ..Field::new(INDEX, Datatype::Long, None)
        }];
        if self.name.is_some() {
            fields.push(Field {
                ucd: Some("meta.id".into()),
                description: Some("The input target's name, as the plan gives it".into()),
                ..Field::new("input_target", Datatype::UnicodeChar, Some("*"))
            });
        }
        fields
    }
}

/// Repeated `ra`, `dec` (and `name`) as a CSV table: positions in degrees or sexagesimal,
/// checked like the single target's.
fn list_as_csv(ras: &[&str], decs: &[&str], names: &[&str]) -> Result<String, ServiceError> {
    if ras.len() != decs.len() || !(names.is_empty() || names.len() == ras.len()) {
        return Err(ServiceError::bad_request(format!(
            "a plan given as repeated parameters needs as many ra as dec (and name, when \
             given): {} ra, {} dec, {} name",
            ras.len(),
            decs.len(),
            names.len()
        )));
    }
    let mut csv = String::from("name,ra,dec\n");
    for (index, (ra, dec)) in ras.iter().zip(decs).enumerate() {
        let (ra, dec) = (
            parse_angle("ra", ra, true)?,
            parse_angle("dec", dec, false)?,
        );
        if !(0.0..=360.0).contains(&ra) || !(-90.0..=90.0).contains(&dec) {
            return Err(ServiceError::bad_request(format!(
                "target {}: ra {ra} and dec {dec} must be within [0, 360] and [-90, 90] degrees",
                index + 1
            )));
        }
        let name = names.get(index).copied().unwrap_or_default();
        // Written with a decimal point: the columns are read as numbers with decimals.
        csv.push_str(&format!(
            "\"{}\",{ra:?},{dec:?}\n",
            name.replace('"', "\"\"")
        ));
    }
    Ok(csv)
}

/// The list's column naming its targets: by name, else by UCD; text only.
fn name_column(targets: &Upload) -> Option<String> {
    let text = targets.columns.iter().filter(|c| c.kind == Kind::Text);
    NAME_COLUMNS
        .iter()
        .find_map(|wanted| {
            text.clone()
                .find(|column| column.name.eq_ignore_ascii_case(wanted))
        })
        .or_else(|| {
            text.clone().find(|column| {
                column
                    .ucd
                    .as_deref()
                    .is_some_and(|ucd| ucd.eq_ignore_ascii_case("meta.id;meta.main"))
            })
        })
        .map(|column| column.name.clone())
}
