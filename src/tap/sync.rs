//! `/tap/sync` (TAP 1.1, DALI 1.1): a query answered at once, streamed back as it runs.

use axum::extract::State;
use axum::response::Response;

use super::request::TapRequest;
use crate::http::{AppState, ParameterError, Parameters, Surface};

pub(super) async fn sync(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let request = TapRequest::read(&parameters?)?;
        let datalink = crate::datalink::endpoint(&headers);
        request
            .run(&state.reader, &state.uploads, Some(datalink))
            .await
    };
    Surface::Dali.answer(answer.await)
}
