//! Multipart uploads left behind under a prefix by runs that were killed (an upload that fails
//! or is dropped is aborted at once; a killed process cannot). opendal cannot list them, so they
//! are listed (`ListMultipartUploads`) and aborted (`AbortMultipartUpload`) here, with requests
//! signed by reqsign (the signer opendal itself uses, same credential chain) and sent by reqwest.

use std::io;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqsign_aws_v4::{
    Credential, DefaultCredentialProvider, RequestSigner, StaticCredentialProvider,
};
use reqsign_core::{Context, HttpSend, OsEnv, Signer};
use reqsign_file_read_tokio::TokioFileRead;

use super::location::S3Settings;

/// An unfinished multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<DateTime<Utc>>,
}

/// reqwest as reqsign's HTTP client (for credential providers that ask a service: IMDS, SSO).
#[derive(Debug, Clone)]
struct ReqwestSend(reqwest::Client);

impl HttpSend for ReqwestSend {
    async fn http_send(
        &self,
        req: http::Request<Bytes>,
    ) -> reqsign_core::Result<http::Response<Bytes>> {
        send(&self.0, req)
            .await
            .map_err(|e| reqsign_core::Error::unexpected(e.to_string()))
    }
}

async fn send(
    client: &reqwest::Client,
    req: http::Request<Bytes>,
) -> Result<http::Response<Bytes>, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    let mut out = http::Response::new(bytes);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// Lists and aborts the multipart uploads of one bucket.
pub struct Uploads {
    client: reqwest::Client,
    signer: Signer<Credential>,
    /// `https://host/bucket` (path style) or `https://bucket.host`.
    base: String,
}

impl Uploads {
    /// The uploads of `bucket`, reached as `settings` say, in `region`.
    pub fn new(bucket: &str, region: &str, settings: &S3Settings) -> Uploads {
        let client = reqwest::Client::new();
        let ctx = Context::new()
            .with_file_read(TokioFileRead)
            .with_env(OsEnv)
            .with_http_send(ReqwestSend(client.clone()));
        let mut provider = DefaultCredentialProvider::builder();
        if let Some(profile) = &settings.profile {
            provider = provider.with_profile(profile);
        }
        let mut chain = provider.build();
        if let Some(key) = &settings.key {
            chain = chain.push_front(StaticCredentialProvider::new(&key.id, &key.secret));
        }
        let signer = Signer::new(ctx, chain, RequestSigner::new("s3", region));
        let path_style = settings.path_style.unwrap_or(settings.endpoint.is_some());
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let endpoint = endpoint.trim_end_matches('/');
        let base = if path_style {
            format!("{endpoint}/{bucket}")
        } else {
            match endpoint.split_once("://") {
                Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
                None => format!("https://{bucket}.{endpoint}"),
            }
        };
        Uploads {
            client,
            signer,
            base,
        }
    }

    async fn request(&self, method: http::Method, url: &str) -> io::Result<(u16, String)> {
        let request = http::Request::builder()
            .method(method)
            .uri(url)
            .header("x-amz-content-sha256", reqsign_aws_v4::EMPTY_STRING_SHA256)
            .body(Bytes::new())
            .map_err(io::Error::other)?;
        let (mut parts, body) = request.into_parts();
        self.signer
            .sign(&mut parts, None)
            .await
            .map_err(|e| io::Error::other(format!("cannot sign the request: {e}")))?;
        let response = send(&self.client, http::Request::from_parts(parts, body))
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let status = response.status().as_u16();
        let text = String::from_utf8_lossy(response.body()).into_owned();
        Ok((status, text))
    }

    /// Every unfinished upload whose key starts with `prefix`.
    pub async fn list(&self, prefix: &str) -> io::Result<Vec<PendingUpload>> {
        let mut out = Vec::new();
        let mut markers: Option<(String, String)> = None;
        for _page in 0..10_000 {
            let mut url = format!("{}/?uploads=&prefix={}", self.base, encode(prefix, true));
            if let Some((key, id)) = &markers {
                url.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    encode(key, true),
                    encode(id, true)
                ));
            }
            let (status, text) = self.request(http::Method::GET, &url).await?;
            if status != 200 {
                return Err(io::Error::other(format!(
                    "listing unfinished uploads: HTTP {status}{}",
                    xml_value(&text, "Code")
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                )));
            }
            out.extend(parse_uploads(&text));
            let truncated = xml_value(&text, "IsTruncated").as_deref() == Some("true");
            let next = (
                xml_value(&text, "NextKeyMarker").unwrap_or_default(),
                xml_value(&text, "NextUploadIdMarker").unwrap_or_default(),
            );
            if !truncated || next.0.is_empty() || markers.as_ref() == Some(&next) {
                break;
            }
            markers = Some(next);
        }
        Ok(out)
    }

    /// Aborts one upload (its parts are deleted).
    pub async fn abort(&self, upload: &PendingUpload) -> io::Result<()> {
        let url = format!(
            "{}/{}?uploadId={}",
            self.base,
            encode(&upload.key, false),
            encode(&upload.upload_id, true)
        );
        match self.request(http::Method::DELETE, &url).await? {
            (200..=299 | 404, _) => Ok(()),
            (status, text) => Err(io::Error::other(format!(
                "aborting the upload of {}: HTTP {status}{}",
                upload.key,
                xml_value(&text, "Code")
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ))),
        }
    }
}

/// Percent-encodes `text` as S3 wants in a URL: everything but `A-Za-z0-9-_.~` (and `/` in a
/// key path unless `slash`).
fn encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text of the first `<tag>` element of `xml`, unescaped.
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let rest = xml.get(start..)?;
    let end = rest.find(&format!("</{tag}>"))?;
    Some(unescape(rest.get(..end)?))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `<Upload>` elements of a `ListMultipartUploadsResult`.
fn parse_uploads(xml: &str) -> Vec<PendingUpload> {
    xml.split("<Upload>")
        .skip(1)
        .filter_map(|chunk| {
            let chunk = chunk.split("</Upload>").next()?;
            Some(PendingUpload {
                key: xml_value(chunk, "Key")?,
                upload_id: xml_value(chunk, "UploadId")?,
                initiated: xml_value(chunk, "Initiated")
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_read_from_the_listing() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>
<Upload><Key>p/d/a&amp;b.sql.zst</Key><UploadId>id-1</UploadId><Initiated>2026-12-01T00:00:00.000Z</Initiated></Upload>
<Upload><Key>p/d/c.sql.zst</Key><UploadId>id-2</UploadId></Upload>
<Upload><Key>broken</Key></Upload>
</ListMultipartUploadsResult>"#;
        let uploads = parse_uploads(xml);
        assert_eq!(uploads.len(), 2);
        assert_eq!(uploads[0].key, "p/d/a&b.sql.zst");
        assert_eq!(uploads[0].upload_id, "id-1");
        assert_eq!(
            uploads[0].initiated.map(|t| t.to_rfc3339()),
            Some("2026-12-01T00:00:00+00:00".to_string())
        );
        assert_eq!(uploads[1].initiated, None);
        assert_eq!(xml_value(xml, "IsTruncated").as_deref(), Some("false"));
        assert_eq!(xml_value("<a>", "a"), None);
    }

    #[test]
    fn keys_are_percent_encoded_as_s3_wants() {
        assert_eq!(
            encode("p/2026-12-04T00-00-00/db/t.sql.zst", false),
            "p/2026-12-04T00-00-00/db/t.sql.zst"
        );
        assert_eq!(encode("a b/é", false), "a%20b/%C3%A9");
        assert_eq!(encode("a/b", true), "a%2Fb");
    }
}
