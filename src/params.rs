//! Request parameters as name/value pairs: the query string, plus a form-encoded body on POST.
//! Clients of this service send both (ASPRO2 POSTs a form; browsers and scripts use GET).

use axum::extract::{FromRequest, Request};
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
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if request.method() == Method::POST && is_form {
            let body = axum::body::Bytes::from_request(request, state)
                .await
                .map_err(|rejection| (StatusCode::BAD_REQUEST, rejection.body_text()))?;
            pairs.extend(form_urlencoded::parse(&body).into_owned());
        }
        Ok(Parameters(pairs))
    }
}
