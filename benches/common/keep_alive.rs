//! The load generator's HTTP client: one keep-alive HTTP/1.1 connection, one GET or form POST
//! at a time, the whole answer read.
//!
//! Why not reqwest: the client shares the two cores with the server and PostgreSQL, so its
//! cost counts against the server. With the same server and random targets, reqwest's pooled
//! client on a multi-threaded runtime reached 1437 / 2464 / 2682 cone searches/s from 1 / 4 /
//! 16 clients, a first version of this client 1802 / 2658 / 3217. pgbench, the reference, is a
//! lean C client; this is its HTTP counterpart.

use std::io::Write;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Connection {
    host: String,
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
    line: String,
}

/// An answer: its status, where it redirects to, and whole body (chunked bodies put together).
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// A complete VOTable: one that did not break off or end in an error document.
    pub fn is_complete_votable(&self) -> bool {
        self.status == 200 && self.body.ends_with(b"</VOTABLE>\n")
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("answers are UTF-8")
    }
}

/// `name=value&...`, encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Connection {
    /// Connects to `base_url` (`http://host:port`).
    pub async fn open(base_url: &str) -> Connection {
        let host = base_url
            .strip_prefix("http://")
            .expect("a plain http:// URL")
            .trim_end_matches('/')
            .to_string();
        let stream = TcpStream::connect(&host).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            host,
            stream: BufReader::with_capacity(64 * 1024, stream),
            request: Vec::new(),
            line: String::new(),
        }
    }

    /// POSTs a form-urlencoded `body` to `path` and reads the whole answer.
    pub async fn post_form(&mut self, path: &str, body: &str) -> Answer {
        self.request.clear();
        write!(
            self.request,
            "POST {path} HTTP/1.1\r\nHost: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        )
        .unwrap();
        self.send().await
    }

    /// GETs `path` (with its query string) and reads the whole answer.
    pub async fn get(&mut self, path: &str) -> Answer {
        self.request.clear();
        write!(
            self.request,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.host
        )
        .unwrap();
        self.send().await
    }

    /// Sends the request written in `self.request` and reads the whole answer.
    async fn send(&mut self) -> Answer {
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .unwrap();
        self.read_answer().await
    }

    async fn read_answer(&mut self) -> Answer {
        let status_line = self.next_line().await;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"));
        let (mut length, mut chunked, mut location) = (None, false, None);
        loop {
            let header = self.next_line().await;
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').expect("a header line");
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().unwrap());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("location") {
                location = Some(value.to_string());
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let size_line = self.next_line().await;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap(), 16)
                    .unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
                if size == 0 {
                    while !self.next_line().await.is_empty() {} // trailers, then the blank line
                    break;
                }
                self.read_into(&mut body, size).await;
                assert!(self.next_line().await.is_empty(), "a chunk ends with CRLF");
            }
        } else {
            let length = length.expect("an answer with Content-Length or chunked");
            self.read_into(&mut body, length).await;
        }
        Answer {
            status,
            location,
            body,
        }
    }

    /// The next header line, without its CRLF.
    async fn next_line(&mut self) -> String {
        self.line.clear();
        let read = self.stream.read_line(&mut self.line).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        self.line.trim_end_matches(['\r', '\n']).to_string()
    }

    async fn read_into(&mut self, body: &mut Vec<u8>, bytes: usize) {
        let start = body.len();
        body.resize(start + bytes, 0);
        self.stream.read_exact(&mut body[start..]).await.unwrap();
    }
}
