//! Request parameters as name/value pairs: the query string, plus a form body on POST,
//! url-encoded or multipart. Clients of this service send all three (ASPRO2 POSTs a form;
//! browsers and scripts use GET; TAP clients may send multipart/form-data, as TAP 1.1 allows).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The most a request body may hold (a form, an ADQL query). Larger bodies are refused with
/// 413 before they are read whole.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every parameter in request order, names as sent.
pub struct Parameters(pub Vec<(String, String)>);

impl Parameters {
    /// The last non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, value)| key == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim())
    }

    /// The value of a single-valued DALI parameter, its name matched without regard to case.
    /// DALI 1.1 (2.4): a service must refuse a request giving it more than once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ParameterError> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ParameterError::bad_request(format!(
                "{name} was given more than once: it takes one value"
            )));
        }
        Ok(first)
    }
}

/// A request whose parameters cannot be read, answered as a DALI error document: every
/// surface that reads parameters speaks VOTable, or (the pages) reads only the query string.
#[derive(Debug)]
pub struct ParameterError {
    pub status: StatusCode,
    pub message: String,
}

impl ParameterError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ParameterError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// From axum's refusal to read a body: too large (413) or malformed (400).
    fn body(status: StatusCode, detail: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ParameterError {
                status,
                message: format!(
                    "the request body is larger than the {} MiB this service reads",
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            };
        }
        ParameterError::bad_request(detail)
    }
}

impl IntoResponse for ParameterError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                "application/x-votable+xml; charset=utf-8",
            )],
            crate::votable::error_document(&self.message),
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for Parameters {
    type Rejection = ParameterError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_post = request.method() == Method::POST;
        if is_post && content_type.starts_with("application/x-www-form-urlencoded") {
            let body = axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|rejection| {
                    ParameterError::body(rejection.status(), rejection.body_text())
                })?;
            pairs.extend(form_urlencoded::parse(&body).into_owned());
        } else if is_post && content_type.starts_with("multipart/form-data") {
            pairs.extend(multipart_fields(request, state).await?);
        }
        Ok(Parameters(pairs))
    }
}

/// The text fields of a multipart body. Parts carrying a file name are table uploads, which
/// this service does not take yet; they are skipped here, so that a query naming `TAP_UPLOAD`
/// fails in the ADQL check with a message about the unknown table.
async fn multipart_fields<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Vec<(String, String)>, ParameterError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ParameterError::body(rejection.status(), rejection.body_text()))?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|error| {
        ParameterError::body(
            error.status(),
            format!("multipart body: {}", error.body_text()),
        )
    })? {
        let (Some(name), None) = (field.name().map(str::to_string), field.file_name()) else {
            continue;
        };
        let value = field.text().await.map_err(|error| {
            ParameterError::body(
                error.status(),
                format!("multipart field {name}: {}", error.body_text()),
            )
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}
