//! Request parameters as name/value pairs: the query string, plus a form body on POST,
//! url-encoded or multipart. Clients of this service send all three (ASPRO2 POSTs a form;
//! browsers and scripts use GET; TAP clients may send multipart/form-data, as TAP 1.1 allows).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, Method, StatusCode};

use super::ServiceError;

/// The most a request body may hold (a form, an ADQL query). Larger bodies are refused with
/// 413 before they are read whole.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every parameter in request order, names as sent. Names are matched without regard to case
/// (DALI 1.1, 2.4; ObsPortal's own names are lower case and matched the same way); a value
/// that is empty or blank, as an untouched form field sends it, counts as absent.
pub struct Parameters(pub Vec<(String, String)>);

impl Parameters {
    /// The last non-empty value of `name`, trimmed: for the ObsPortal API and the pages, whose
    /// forms may repeat a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.trim().is_empty())
            .map(|(_, value)| value.trim())
    }

    /// The value of a single-valued DALI parameter, trimmed. DALI 1.1 (2.4): a service must
    /// refuse a request giving it more than once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ParameterError> {
        let mut given = self
            .0
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name));
        let first = given.next();
        if given.next().is_some() {
            return Err(ParameterError::Repeated(name.to_string()));
        }
        Ok(first
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty()))
    }

    /// A single-valued parameter the request must give; `expected` says what it holds.
    pub fn required(&self, name: &str, expected: &str) -> Result<&str, ParameterError> {
        self.single(name)?.ok_or_else(|| ParameterError::Missing {
            name: name.to_string(),
            expected: expected.to_string(),
        })
    }

    /// A single-valued parameter read as a `T`; `expected` says what was expected when the
    /// value is not one.
    pub fn parsed<T: std::str::FromStr>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ParameterError> {
        self.single(name)?
            .map(|text| {
                text.parse::<T>().map_err(|_| ParameterError::Invalid {
                    name: name.to_string(),
                    value: text.to_string(),
                    expected: expected.to_string(),
                })
            })
            .transpose()
    }

    /// Whether the request names the parameter at all (even with an empty value).
    pub fn names(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key.eq_ignore_ascii_case(name))
    }
}

/// Why a request's parameters cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    #[error("{0} was given more than once: it takes one value")]
    Repeated(String),
    #[error("{name} is required ({expected})")]
    Missing { name: String, expected: String },
    #[error("{name}={value}: expected {expected}")]
    Invalid {
        name: String,
        value: String,
        expected: String,
    },
    #[error("the request body is larger than the {} MiB this service reads", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("{0}")]
    Unreadable(String),
}

impl ParameterError {
    pub fn invalid(name: &str, value: &str, expected: impl Into<String>) -> Self {
        ParameterError::Invalid {
            name: name.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// From axum's refusal to read a body: too large (413) or malformed (400).
    fn body(status: StatusCode, detail: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ParameterError::TooLarge
        } else {
            ParameterError::Unreadable(detail)
        }
    }
}

impl From<ParameterError> for ServiceError {
    fn from(error: ParameterError) -> Self {
        match error {
            ParameterError::TooLarge => ServiceError::TooLarge(error.to_string()),
            _ => ServiceError::BadRequest(error.to_string()),
        }
    }
}

/// Handlers that do not speak DALI take `Result<Parameters, ParameterError>` and render the
/// error their way; this is for those that do.
impl axum::response::IntoResponse for ParameterError {
    fn into_response(self) -> axum::response::Response {
        super::Surface::Dali.render(&self.into())
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
