//! Uploads by URL (`UPLOAD=name,https://...`): fetched with a time and size limit, and never
//! from the operator's own network unless the operator allows it. The host is resolved once,
//! every address it resolves to is checked, and the request goes to the checked address (no
//! second lookup an attacker's DNS could answer differently); redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ReadError;

pub(super) struct FetchLimits {
    pub max_bytes: usize,
    pub timeout: Duration,
    pub allow_private: bool,
}

pub(super) async fn fetch(url: &str, limits: &FetchLimits) -> Result<Vec<u8>, ReadError> {
    let refuse = |problem: String| ReadError::at(url, problem);
    let parsed = reqwest::Url::parse(url).map_err(|error| refuse(format!("not a URL: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse("only http and https URLs are fetched".into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| refuse("the URL has no host".into()))?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(limits.timeout, tokio::net::lookup_host((lookup, port)))
            .await
            .map_err(|_| refuse("its host did not resolve in time".into()))?
            .map_err(|error| refuse(format!("its host does not resolve: {error}")))?
            .collect();
    let Some(first) = addresses.first().copied() else {
        return Err(refuse("its host resolves to no address".into()));
    };
    if !limits.allow_private {
        if let Some(inside) = addresses.iter().find(|address| is_internal(address.ip())) {
            return Err(refuse(format!(
                "it resolves to {}, an address of the service's own network (loopback, private or \
                 link-local), which uploads may not reach",
                inside.ip()
            )));
        }
    }
    let client = reqwest::Client::builder()
        .resolve(&host, first)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits.timeout)
        .build()
        .map_err(|error| refuse(format!("cannot fetch: {error}")))?;
    let response = client
        .get(parsed)
        .send()
        .await
        .map_err(|error| refuse(format!("could not be fetched: {error}")))?;
    if !response.status().is_success() {
        return Err(refuse(format!("answered {}", response.status())));
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(piece) = response
        .chunk()
        .await
        .map_err(|error| refuse(format!("broke off: {error}")))?
    {
        if body.len() + piece.len() > limits.max_bytes {
            return Err(ReadError::TooManyBytes(limits.max_bytes));
        }
        body.extend_from_slice(&piece);
    }
    Ok(body)
}

/// Loopback, private, link-local, unspecified, shared (CGNAT) and unique-local addresses: the
/// service's side of the network.
fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_own_network_is_internal() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.16.5.4",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::5",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["8.8.8.8", "134.171.1.1", "2001:db8::1"] {
            assert!(!is_internal(outside.parse().unwrap()), "{outside}");
        }
    }
}
