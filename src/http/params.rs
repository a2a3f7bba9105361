//! Request parameters as name/value pairs: the query string, plus a form body on POST,
//! url-encoded or multipart. Clients of this service send all three (ASPRO2 POSTs a form;
//! browsers and scripts use GET; TAP clients may send multipart/form-data, as TAP 1.1 allows).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, Method, StatusCode};

use super::ServiceError;

/// The most a request body may hold (a form, an ADQL query). Larger bodies are refused with
/// 413 before they are read whole. TAP's queries may be larger by the upload limit, in
/// multipart bodies only.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Every parameter in request order, names as sent. Names are matched without regard to case
/// (DALI 1.1, 2.4; ObsPortal's own names are lower case and matched the same way); a value
/// that is empty or blank, as an untouched form field sends it, counts as absent.
pub struct Parameters {
    pub pairs: Vec<(String, String)>,
    /// The parts of a multipart body that carry a file (table uploads), by part name.
    pub files: Vec<(String, bytes::Bytes)>,
}

impl Parameters {
    pub fn new(pairs: Vec<(String, String)>) -> Parameters {
        Parameters {
            pairs,
            files: Vec::new(),
        }
    }

    /// The file sent in the multipart part `name`.
    pub fn file(&self, name: &str) -> Option<&bytes::Bytes> {
        self.files
            .iter()
            .find(|(part, _)| part == name)
            .map(|(_, data)| data)
    }

    /// The last non-empty value of `name`, trimmed: for the ObsPortal API and the pages, whose
    /// forms may repeat a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.trim().is_empty())
            .map(|(_, value)| value.trim())
    }

    /// The value of a single-valued DALI parameter, trimmed. DALI 1.1 (2.4): a service must
    /// refuse a request giving it more than once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ParameterError> {
        let mut given = self
            .pairs
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

    /// A body that could not be read whole: over the limit, or it stopped arriving (the
    /// connection's body timeout) or broke off.
    fn unread(error: axum::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return ParameterError::TooLarge;
            }
            source = cause.source();
        }
        ParameterError::Unreadable(format!(
            "the request body stopped arriving before its end ({error})"
        ))
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
            // A form is text: 2 MiB whatever the route allows (a larger limit is there for
            // multipart bodies carrying uploaded tables).
            let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
                .await
                .map_err(ParameterError::unread)?;
            pairs.extend(form_urlencoded::parse(&body).into_owned());
        } else if is_post && content_type.starts_with("multipart/form-data") {
            let (fields, files) = multipart_parts(request, state).await?;
            pairs.extend(fields);
            return Ok(Parameters { pairs, files });
        }
        Ok(Parameters::new(pairs))
    }
}

/// The text fields of a multipart body, and the parts that carry a file (table uploads, which
/// `UPLOAD=name,param:part` names), held whole: the route's body limit bounds them.
async fn multipart_parts<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<(Vec<(String, String)>, Vec<(String, bytes::Bytes)>), ParameterError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ParameterError::body(rejection.status(), rejection.body_text()))?;
    let (mut pairs, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|error| {
        ParameterError::body(
            error.status(),
            format!("multipart body: {}", error.body_text()),
        )
    })? {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        if field.file_name().is_some() {
            let data = field.bytes().await.map_err(|error| {
                ParameterError::body(
                    error.status(),
                    format!("multipart part {name}: {}", error.body_text()),
                )
            })?;
            files.push((name, data));
            continue;
        }
        let value = field.text().await.map_err(|error| {
            ParameterError::body(
                error.status(),
                format!("multipart field {name}: {}", error.body_text()),
            )
        })?;
        pairs.push((name, value));
    }
    Ok((pairs, files))
}
