//! VOSI 1.1 endpoints.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::schema::{published_tables, Table, FOREIGN_KEYS};

use crate::http::AppState;

/// How long the availability probe waits for the database before saying it is unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// VOSI availability: whether the service can answer queries, i.e. whether the database is
/// reachable. Always 200: the document, not the status code, carries the answer.
pub(super) async fn availability(State(state): State<AppState>) -> Response {
    match database_answers(&state.pool).await {
        Ok(()) => availability_document(true, "obsportal is accepting queries"),
        Err(why) => availability_document(false, &why),
    }
}

/// Whether the database answers a trivial query in time; why not, if it does not (the
/// readiness probe asks the same).
pub(crate) async fn database_answers(pool: &deadpool_postgres::Pool) -> Result<(), String> {
    let probe = async {
        let client = pool.get().await.map_err(|e| e.to_string())?;
        client
            .query_one("SELECT 1", &[])
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "availability probe failed");
            Err("the database is unreachable".to_string())
        }
        Err(_) => Err("the database did not answer in time".to_string()),
    }
}

/// The VOSI availability document.
pub(crate) fn availability_document(available: bool, note: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n  \
         <vosi:available>{available}</vosi:available>\n  <vosi:note>{}</vosi:note>\n\
         </vosi:availability>\n",
        crate::votable::xml_escaped(note)
    );
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// VOSI tables: every published table with its columns (VODataService 1.1), or names only
/// with `detail=min`.
pub(super) async fn tables(parameters: crate::http::Parameters) -> impl IntoResponse {
    let minimal = parameters.get("detail") == Some("min");
    xml_response(StatusCode::OK, tableset(None, !minimal))
}

/// VOSI tables for one table: `/tap/tables/{schema.table}`.
pub(super) async fn table(Path(name): Path<String>) -> Response {
    let known = published_tables()
        .iter()
        .any(|t| t.qualified_name().eq_ignore_ascii_case(&name));
    if !known {
        let missing = crate::http::ServiceError::NotFound(format!("there is no table {name}"));
        return crate::http::Surface::Text.render(&missing);
    }
    xml_response(StatusCode::OK, tableset(Some(&name), true)).into_response()
}

fn xml_response(status: StatusCode, body: String) -> impl IntoResponse {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
}

fn tableset(only: Option<&str>, with_columns: bool) -> String {
    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 1);
    let tables: Vec<&Table> = published_tables()
        .iter()
        .filter(|t| only.is_none_or(|name| t.qualified_name().eq_ignore_ascii_case(name)))
        .collect();
    let write = |xml: &mut Writer<Vec<u8>>| -> std::io::Result<()> {
        if only.is_some() {
            for table in &tables {
                write_table(xml, table, with_columns, true)?;
            }
            return Ok(());
        }
        let mut root = BytesStart::new("vosi:tableset");
        root.push_attribute(("xmlns:vosi", "http://www.ivoa.net/xml/VOSITables/v1.0"));
        root.push_attribute(("xmlns:vs", "http://www.ivoa.net/xml/VODataService/v1.1"));
        root.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
        xml.write_event(Event::Start(root))?;
        let mut schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
        schemas.dedup();
        for schema in schemas {
            xml.write_event(Event::Start(BytesStart::new("schema")))?;
            text_element(xml, "name", schema)?;
            for table in tables.iter().filter(|t| t.schema == schema) {
                write_table(xml, table, with_columns, false)?;
            }
            xml.write_event(Event::End(BytesEnd::new("schema")))?;
        }
        xml.write_event(Event::End(BytesEnd::new("vosi:tableset")))
    };
    write(&mut xml).expect("writing to memory cannot fail");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&String::from_utf8(xml.into_inner()).expect("UTF-8"));
    out.push('\n');
    out
}

fn write_table(
    xml: &mut Writer<Vec<u8>>,
    table: &Table,
    with_columns: bool,
    root: bool,
) -> std::io::Result<()> {
    let mut element = BytesStart::new(if root { "vs:table" } else { "table" });
    if root {
        element.push_attribute(("xmlns:vs", "http://www.ivoa.net/xml/VODataService/v1.1"));
        element.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    }
    element.push_attribute((
        "type",
        if table.table_type == "view" {
            "view"
        } else {
            "base_table"
        },
    ));
    xml.write_event(Event::Start(element))?;
    text_element(xml, "name", &table.qualified_name())?;
    text_element(xml, "description", &table.description)?;
    if let Some(utype) = &table.utype {
        text_element(xml, "utype", utype)?;
    }
    if with_columns {
        for column in &table.columns {
            xml.write_event(Event::Start(BytesStart::new("column")))?;
            let name = if adql::is_reserved_word(&column.name) {
                format!("\"{}\"", column.name)
            } else {
                column.name.clone()
            };
            text_element(xml, "name", &name)?;
            text_element(xml, "description", &column.description)?;
            for (name, value) in [
                ("unit", &column.unit),
                ("ucd", &column.ucd),
                ("utype", &column.utype),
            ] {
                if let Some(value) = value {
                    text_element(xml, name, value)?;
                }
            }
            let mut datatype = BytesStart::new("dataType");
            datatype.push_attribute(("xsi:type", "vs:VOTableType"));
            if let Some(arraysize) = &column.arraysize {
                datatype.push_attribute(("arraysize", arraysize.as_str()));
            }
            if let Some(xtype) = &column.xtype {
                datatype.push_attribute(("extendedType", xtype.as_str()));
            }
            xml.write_event(Event::Start(datatype))?;
            xml.write_event(Event::Text(BytesText::new(&column.datatype)))?;
            xml.write_event(Event::End(BytesEnd::new("dataType")))?;
            for (flag, set) in [
                ("indexed", column.indexed),
                ("primary", false),
                ("std", column.std),
            ] {
                if set {
                    text_element(xml, "flag", flag)?;
                }
            }
            if column.principal {
                text_element(xml, "flag", "principal")?;
            }
            xml.write_event(Event::End(BytesEnd::new("column")))?;
        }
        for key in FOREIGN_KEYS
            .iter()
            .filter(|k| k.from_table == table.qualified_name())
        {
            xml.write_event(Event::Start(BytesStart::new("foreignKey")))?;
            text_element(xml, "targetTable", key.target_table)?;
            xml.write_event(Event::Start(BytesStart::new("fkColumn")))?;
            text_element(xml, "fromColumn", key.from_column)?;
            text_element(xml, "targetColumn", key.target_column)?;
            xml.write_event(Event::End(BytesEnd::new("fkColumn")))?;
            xml.write_event(Event::End(BytesEnd::new("foreignKey")))?;
        }
    }
    xml.write_event(Event::End(BytesEnd::new(if root {
        "vs:table"
    } else {
        "table"
    })))
}

fn text_element(xml: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    xml.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// VOSI capabilities: TAP with TAPRegExt (what really works), and the VOSI endpoints.
pub(super) async fn capabilities(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let base = format!("{}/tap", crate::http::service_url(&headers));
    xml_response(
        StatusCode::OK,
        capabilities_document(&base, state.jobs.settings(), &state.uploads),
    )
}

/// The ADQL features the adql crate accepts, by TAPRegExt feature type.
const FEATURES: &[(&str, &[&str])] = &[
    (
        "adqlgeo",
        &[
            "POINT",
            "CIRCLE",
            "BOX",
            "POLYGON",
            "CONTAINS",
            "INTERSECTS",
            "DISTANCE",
            "COORD1",
            "COORD2",
            "COORDSYS",
            "AREA",
            "CENTROID",
        ],
    ),
    ("adql-string", &["LOWER", "UPPER", "ILIKE"]),
    ("adql-type", &["CAST"]),
    ("adql-unit", &["IN_UNIT"]),
    // COALESCE works too; its ADQL 2.1 key (features-adql-conditional) is unknown to
    // stilts taplint 3.4, which reports it as an error, so it is not declared.
    ("adql-offset", &["OFFSET"]),
    ("adql-sets", &["UNION", "EXCEPT", "INTERSECT"]),
    ("adql-common-table", &["WITH"]),
];

/// User-defined functions (TAPRegExt `features-udf`), with their signatures as TAPRegExt
/// writes them (parameter names without underscores: the ADQL library of TOPCAT and taplint
/// reads no declaration whose parameters have one): the IVOA UDF catalogue's HEALPix functions, computed by pg_sphere, and this
/// service's (u, v) functions (`adql/src/translate/uv.rs`). IN_UNIT is
/// ADQL 2.1's (declared above too), but the ADQL parser of TOPCAT and taplint predates it and,
/// once a service declares any UDF, flags every function it does not know: declared here as
/// well, TOPCAT's editor accepts queries that use it.
const UDFS: &[(&str, &str)] = &[
    (
        "in_unit(value DOUBLE PRECISION, unit VARCHAR) -> DOUBLE PRECISION",
        "ADQL 2.1's IN_UNIT: the value, whose unit is known, converted to the VOUnit given.",
    ),
    (
        "ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE PRECISION, dec DOUBLE PRECISION) -> BIGINT",
        "The index of the HEALPix pixel (nested scheme) of order hpxOrder that holds the \
         position (ra, dec) [deg]; also ivo_healpix_index(hpxOrder, POINT).",
    ),
    (
        "ivo_healpix_center(hpxOrder INTEGER, hpxIndex BIGINT) -> POINT",
        "The centre of the HEALPix pixel (nested scheme) of order hpxOrder and index hpxIndex.",
    ),
    (
        "obsportal_uv_near(uStart DOUBLE PRECISION, vStart DOUBLE PRECISION, \
         uEnd DOUBLE PRECISION, vEnd DOUBLE PRECISION, u DOUBLE PRECISION, \
         v DOUBLE PRECISION, radius DOUBLE PRECISION) -> INTEGER",
        "1 when a baseline's (u, v) track from start to end [m] (taken straight), or its mirror \
         image (-u, -v), passes within radius [m] of the point (u, v), else 0. Given the \
         columns of obsportal.baselines, compared with 1, the table's (u, v) index serves it.",
    ),
    (
        "obsportal_uv_sector(uStart DOUBLE PRECISION, vStart DOUBLE PRECISION, \
         uEnd DOUBLE PRECISION, vEnd DOUBLE PRECISION, lengthMin DOUBLE PRECISION, \
         lengthMax DOUBLE PRECISION, angleMin DOUBLE PRECISION, \
         angleMax DOUBLE PRECISION) -> INTEGER",
        "1 when, at the start or the end of the exposure, the baseline's projected length lies \
         from lengthMin to lengthMax [m] and its position angle (east of north, modulo 180) \
         from angleMin east to angleMax [deg], else 0. Given the columns of \
         obsportal.baselines, compared with 1, the table's (u, v) index serves it.",
    ),
    (
        "obsportal_angle_within(angle DOUBLE PRECISION, angleFrom DOUBLE PRECISION, \
         angleTo DOUBLE PRECISION) -> INTEGER",
        "1 when the position angle [deg], modulo 180 (a baseline and its reverse are one), lies \
         from angleFrom east to angleTo (e.g. 170 to 10 spans north), else 0.",
    ),
];

fn capabilities_document(
    base: &str,
    jobs: &crate::jobs::JobSettings,
    uploads: &crate::upload::UploadLimits,
) -> String {
    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 1);
    let write = |xml: &mut Writer<Vec<u8>>| -> std::io::Result<()> {
        let mut root = BytesStart::new("vosi:capabilities");
        for (name, value) in [
            (
                "xmlns:vosi",
                "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
            ),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xmlns:vr", "http://www.ivoa.net/xml/VOResource/v1.0"),
            ("xmlns:vs", "http://www.ivoa.net/xml/VODataService/v1.1"),
            ("xmlns:tr", "http://www.ivoa.net/xml/TAPRegExt/v1.0"),
        ] {
            root.push_attribute((name, value));
        }
        xml.write_event(Event::Start(root))?;

        let mut tap = BytesStart::new("capability");
        tap.push_attribute(("standardID", "ivo://ivoa.net/std/TAP"));
        tap.push_attribute(("xsi:type", "tr:TableAccess"));
        xml.write_event(Event::Start(tap))?;
        interface(xml, base, "base", Some(("role", "std")), Some("1.1"))?;
        xml.write_event(Event::Start(BytesStart::new("language")))?;
        text_element(xml, "name", "ADQL")?;
        for (version, id) in [
            ("2.1", "ivo://ivoa.net/std/ADQL#v2.1"),
            ("2.0", "ivo://ivoa.net/std/ADQL#v2.0"),
        ] {
            let mut element = BytesStart::new("version");
            element.push_attribute(("ivo-id", id));
            xml.write_event(Event::Start(element))?;
            xml.write_event(Event::Text(BytesText::new(version)))?;
            xml.write_event(Event::End(BytesEnd::new("version")))?;
        }
        text_element(
            xml,
            "description",
            "ADQL 2.1, translated to PostgreSQL with pg_sphere",
        )?;
        for (kind, forms) in FEATURES {
            let mut features = BytesStart::new("languageFeatures");
            let kind = format!("ivo://ivoa.net/std/TAPRegExt#features-{kind}");
            features.push_attribute(("type", kind.as_str()));
            xml.write_event(Event::Start(features))?;
            for form in *forms {
                xml.write_event(Event::Start(BytesStart::new("feature")))?;
                text_element(xml, "form", form)?;
                xml.write_event(Event::End(BytesEnd::new("feature")))?;
            }
            xml.write_event(Event::End(BytesEnd::new("languageFeatures")))?;
        }
        let mut features = BytesStart::new("languageFeatures");
        features.push_attribute(("type", "ivo://ivoa.net/std/TAPRegExt#features-udf"));
        xml.write_event(Event::Start(features))?;
        for (form, description) in UDFS {
            xml.write_event(Event::Start(BytesStart::new("feature")))?;
            text_element(xml, "form", form)?;
            text_element(xml, "description", description)?;
            xml.write_event(Event::End(BytesEnd::new("feature")))?;
        }
        xml.write_event(Event::End(BytesEnd::new("languageFeatures")))?;
        xml.write_event(Event::End(BytesEnd::new("language")))?;
        for description in crate::formats::FORMATS {
            let mut element = BytesStart::new("outputFormat");
            if let Some(id) = description.ivo_id {
                element.push_attribute(("ivo-id", id));
            }
            xml.write_event(Event::Start(element))?;
            text_element(xml, "mime", description.mime)?;
            for alias in description.aliases {
                text_element(xml, "alias", alias)?;
            }
            xml.write_event(Event::End(BytesEnd::new("outputFormat")))?;
        }
        for method in ["inline", "http", "https"] {
            let mut element = BytesStart::new("uploadMethod");
            let id = format!("ivo://ivoa.net/std/TAPRegExt#upload-{method}");
            element.push_attribute(("ivo-id", id.as_str()));
            xml.write_event(Event::Empty(element))?;
        }
        // How long async jobs are kept and may run (sync queries stop at the query timeout,
        // which their error says).
        for (element, default, hard) in [
            (
                "retentionPeriod",
                jobs.retention.as_secs(),
                jobs.max_retention.as_secs(),
            ),
            (
                "executionDuration",
                jobs.default_duration.into(),
                jobs.max_duration.into(),
            ),
        ] {
            xml.write_event(Event::Start(BytesStart::new(element)))?;
            text_element(xml, "default", &default.to_string())?;
            text_element(xml, "hard", &hard.to_string())?;
            xml.write_event(Event::End(BytesEnd::new(element)))?;
        }
        xml.write_event(Event::Start(BytesStart::new("outputLimit")))?;
        for (name, rows) in [
            ("default", crate::results::DEFAULT_MAXREC),
            ("hard", crate::results::HARD_MAXREC),
        ] {
            let mut limit = BytesStart::new(name);
            limit.push_attribute(("unit", "row"));
            xml.write_event(Event::Start(limit))?;
            xml.write_event(Event::Text(BytesText::new(&rows.to_string())))?;
            xml.write_event(Event::End(BytesEnd::new(name)))?;
        }
        xml.write_event(Event::End(BytesEnd::new("outputLimit")))?;
        xml.write_event(Event::Start(BytesStart::new("uploadLimit")))?;
        for name in ["default", "hard"] {
            let mut limit = BytesStart::new(name);
            limit.push_attribute(("unit", "byte"));
            xml.write_event(Event::Start(limit))?;
            xml.write_event(Event::Text(BytesText::new(&uploads.max_bytes.to_string())))?;
            xml.write_event(Event::End(BytesEnd::new(name)))?;
        }
        xml.write_event(Event::End(BytesEnd::new("uploadLimit")))?;
        xml.write_event(Event::End(BytesEnd::new("capability")))?;

        for (id, path) in [
            ("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
            ("ivo://ivoa.net/std/VOSI#availability", "availability"),
            ("ivo://ivoa.net/std/VOSI#tables-1.1", "tables"),
        ] {
            let mut capability = BytesStart::new("capability");
            capability.push_attribute(("standardID", id));
            xml.write_event(Event::Start(capability))?;
            interface(xml, &format!("{base}/{path}"), "full", None, None)?;
            xml.write_event(Event::End(BytesEnd::new("capability")))?;
        }
        // DALI examples: a web page, so a browser interface.
        let mut examples = BytesStart::new("capability");
        examples.push_attribute(("standardID", "ivo://ivoa.net/std/DALI#examples"));
        xml.write_event(Event::Start(examples))?;
        let mut interface = BytesStart::new("interface");
        interface.push_attribute(("xsi:type", "vr:WebBrowser"));
        xml.write_event(Event::Start(interface))?;
        let mut access = BytesStart::new("accessURL");
        access.push_attribute(("use", "full"));
        xml.write_event(Event::Start(access))?;
        xml.write_event(Event::Text(BytesText::new(&format!("{base}/examples"))))?;
        xml.write_event(Event::End(BytesEnd::new("accessURL")))?;
        xml.write_event(Event::End(BytesEnd::new("interface")))?;
        xml.write_event(Event::End(BytesEnd::new("capability")))?;
        xml.write_event(Event::End(BytesEnd::new("vosi:capabilities")))
    };
    write(&mut xml).expect("writing to memory cannot fail");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        String::from_utf8(xml.into_inner()).expect("UTF-8")
    )
}

fn interface(
    xml: &mut Writer<Vec<u8>>,
    url: &str,
    use_: &str,
    role: Option<(&str, &str)>,
    version: Option<&str>,
) -> std::io::Result<()> {
    let mut element = BytesStart::new("interface");
    element.push_attribute(("xsi:type", "vs:ParamHTTP"));
    if let Some(role) = role {
        element.push_attribute(role);
    }
    if let Some(version) = version {
        element.push_attribute(("version", version));
    }
    xml.write_event(Event::Start(element))?;
    let mut access = BytesStart::new("accessURL");
    access.push_attribute(("use", use_));
    xml.write_event(Event::Start(access))?;
    xml.write_event(Event::Text(BytesText::new(url)))?;
    xml.write_event(Event::End(BytesEnd::new("accessURL")))?;
    xml.write_event(Event::End(BytesEnd::new("interface")))
}
