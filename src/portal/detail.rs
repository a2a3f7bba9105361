//! `/detail/exposure/{exp_id}`: one exposure, with links to its program and its header at
//! ESO, and its projected baselines drawn in the (u,v) plane.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;

use super::home::urlencode;
use super::layout::{error_page, page, query_failed, unavailable};
use super::svg::{uv_plot, Baseline};
use crate::results::fetch_rows;
use crate::schema::published_table;
use crate::server::AppState;

pub(super) async fn exposure(
    State(state): State<AppState>,
    Path(exp_id): Path<String>,
) -> Response {
    let rows = match fetch_rows(
        &state.reader,
        "SELECT * FROM obsportal.exposures WHERE exp_id = $1::text",
        &[Box::new(exp_id.clone())],
    )
    .await
    {
        Ok(rows) => rows,
        Err(error) => return query_failed(error),
    };
    let Some(row) = rows.first() else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no exposure {exp_id:?}."),
        );
    };
    let baselines = match projected_baselines(&state, &exp_id).await {
        Ok(baselines) => baselines,
        Err(error) => return unavailable(error),
    };
    let header_id: String = row.get("exp_header_id");
    let program: Option<String> = row.get("obs_program");
    let descriptions = &published_table("exposures").columns;
    let body = html! {
        p {
            a href=(format!("https://archive.eso.org/hdr?DpId={}", urlencode(&header_id))) { "Header in the ESO archive" }
            @if let Some(program) = &program {
                " · " a href=(format!("https://archive.eso.org/wdb/wdb/eso/sched_rep_arc/query?progid={}", urlencode(program))) { "Program " (program) " at ESO" }
                " · " a href=(format!("/search?program_id={}", urlencode(program))) { "All exposures of this program" }
            }
        }
        h2 { "Projected baselines" }
        @if baselines.is_empty() { p { "The header gives no projected baselines." } } @else { (uv_plot(&baselines)) }
        h2 { "All fields" }
        table #fields {
            tbody { @for (index, column) in row.columns().iter().enumerate() {
                tr {
                    th { (column.name()) }
                    td { (cell_text(row, index)) }
                    td { small { (descriptions.iter().find(|c| c.name == column.name()).map(|c| c.description.as_str()).unwrap_or("")) } }
                }
            } }
        }
    };
    page(&format!("Exposure {exp_id}"), body).into_response()
}

/// The structured baselines (the published column holds the ObsPortal string form).
async fn projected_baselines(
    state: &AppState,
    exp_id: &str,
) -> Result<Vec<Baseline>, Box<dyn std::error::Error>> {
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "SELECT projected_baselines FROM obsportal.exposure WHERE id = $1",
            &[&exp_id],
        )
        .await?;
    let Some(Value::Object(pairs)) = row.and_then(|row| row.get::<_, Option<Value>>(0)) else {
        return Ok(Vec::new());
    };
    let at = |value: &Value, when: &str| {
        Some((
            value["length"][when].as_f64()?,
            value["angle"][when].as_f64()?,
        ))
    };
    Ok(pairs
        .iter()
        .map(|(pair, value)| Baseline {
            pair: pair.clone(),
            start: at(value, "start"),
            end: at(value, "end"),
        })
        .collect())
}

fn cell_text(row: &tokio_postgres::Row, index: usize) -> String {
    use tokio_postgres::types::Type;
    let column = &row.columns()[index];
    match *column.type_() {
        Type::FLOAT8 => row.get::<_, Option<f64>>(index).map(|v| v.to_string()),
        Type::INT4 => row.get::<_, Option<i32>>(index).map(|v| v.to_string()),
        Type::INT8 => row.get::<_, Option<i64>>(index).map(|v| v.to_string()),
        Type::TIMESTAMPTZ => row
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>(index)
            .map(|v| v.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        _ => row.get::<_, Option<String>>(index),
    }
    .unwrap_or_default()
}
