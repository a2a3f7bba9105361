//! Request parameters as name/value pairs: the query string, plus a form body on POST,
//! url-encoded or multipart. Clients of this service send all three (ASPRO2 POSTs a form;
//! browsers and scripts use GET; TAP clients may send multipart/form-data, as TAP 1.1 allows).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, Method, StatusCode};

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
}

impl<S: Send + Sync> FromRequest<S> for Parameters {
    type Rejection = (StatusCode, String);

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
                .map_err(|rejection| (StatusCode::BAD_REQUEST, rejection.body_text()))?;
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
) -> Result<Vec<(String, String)>, (StatusCode, String)> {
    let bad_request = |message: String| (StatusCode::BAD_REQUEST, message);
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| bad_request(rejection.body_text()))?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| bad_request(format!("multipart body: {}", error.body_text())))?
    {
        let (Some(name), None) = (field.name().map(str::to_string), field.file_name()) else {
            continue;
        };
        let value = field.text().await.map_err(|error| {
            bad_request(format!("multipart field {name}: {}", error.body_text()))
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}
