//! The approver's identity proof over STS (`model_guard_core::proof`): guardctl presigns a
//! GetCallerIdentity with the approver's credentials; the approval function sends it to the STS
//! endpoint it resolves itself, with STS's own endpoint rules and the SDK configuration's
//! endpoint override (`AWS_ENDPOINT_URL`, the testbed), and reads whom STS names.

use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use model_guard_core::ports::{CallerVerifier, ProofError};
use model_guard_core::proof::{
    BINDING_HEADER, CheckedProof, EXPIRES_SECONDS, ProvenCaller, read_caller_identity,
};
use model_guard_core::{ErrorKind, GuardError};

const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read: a GetCallerIdentity result is a few hundred bytes.
const MAX_ANSWER: usize = 16 * 1024;

fn config_error(message: String) -> GuardError {
    GuardError::new(ErrorKind::Configuration, message)
}

/// The regional STS endpoint for `region` (never the global one, whose signing region is
/// us-east-1 wherever the guard runs), or the configured override.
pub async fn sts_endpoint(
    region: &str,
    endpoint_url: Option<&str>,
) -> Result<http::Uri, GuardError> {
    let params = Params::builder()
        .region(region)
        .use_dual_stack(false)
        .use_fips(false)
        .use_global_endpoint(false)
        .set_endpoint(endpoint_url.map(str::to_owned))
        .build()
        .map_err(|e| config_error(format!("STS endpoint parameters: {e}")))?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map_err(|e| config_error(format!("no STS endpoint for {region}: {e}")))?;
    let url = endpoint.url();
    let uri: http::Uri = url
        .parse()
        .map_err(|e| config_error(format!("STS endpoint {url:?}: {e}")))?;
    if uri.authority().is_none() {
        return Err(config_error(format!("STS endpoint {url:?} has no host")));
    }
    Ok(uri)
}

fn host(endpoint: &http::Uri) -> String {
    endpoint
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default()
}

fn request_uri(endpoint: &http::Uri, query: &str) -> String {
    let scheme = endpoint.scheme_str().unwrap_or("https");
    format!("{scheme}://{}/?{query}", host(endpoint))
}

/// The query string of a presigned GetCallerIdentity for `endpoint`, signed with `identity`
/// for `region`, binding `binding` in the signed [`BINDING_HEADER`].
pub fn presign_caller_identity(
    identity: &Identity,
    region: &str,
    endpoint: &http::Uri,
    binding: &str,
    time: SystemTime,
) -> Result<String, GuardError> {
    let signing = |e: &dyn std::fmt::Display| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("cannot sign the identity proof: {e}"),
        )
    };
    let url = request_uri(endpoint, "Action=GetCallerIdentity&Version=2011-06-15");
    let host = host(endpoint);
    let headers = [("host", host.as_str()), (BINDING_HEADER, binding)];
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(EXPIRES_SECONDS));
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing(&e))?
        .into();
    let signable = SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| signing(&e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| signing(&e))?
        .into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .body(())
        .map_err(|e| signing(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    request
        .uri()
        .query()
        .map(str::to_owned)
        .ok_or_else(|| signing(&"the signed request has no query"))
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Verifies proofs with STS.
pub struct StsCallerVerifier {
    region: String,
    endpoint: http::Uri,
    client: HttpsClient,
}

impl StsCallerVerifier {
    pub fn new(
        region: impl Into<String>,
        endpoint: http::Uri,
    ) -> Result<StsCallerVerifier, GuardError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| config_error(format!("cannot load the system's CA certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(StsCallerVerifier {
            region: region.into(),
            endpoint,
            // hyper follows no redirects: an answer that is not STS's own is not followed.
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn endpoint(&self) -> &http::Uri {
        &self.endpoint
    }
}

impl CallerVerifier for StsCallerVerifier {
    fn region(&self) -> &str {
        &self.region
    }

    async fn verify(
        &self,
        proof: &CheckedProof,
        binding: &str,
    ) -> Result<ProvenCaller, ProofError> {
        let failed = |m: String| ProofError::Failed(GuardError::new(ErrorKind::Unavailable, m));
        let uri = request_uri(&self.endpoint, &proof.query);
        let request = http::Request::builder()
            .method("GET")
            .uri(&uri)
            .header("host", host(&self.endpoint))
            .header(BINDING_HEADER, binding)
            .header("accept", "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| failed(format!("identity proof request: {e}")))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| failed(format!("STS did not answer in {} s", TIMEOUT.as_secs())))?
            .map_err(|e| failed(format!("STS: {e}")))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| failed(format!("reading STS's answer: {e}")))?
            .to_bytes();
        match status {
            200 => read_caller_identity(&body).map_err(ProofError::Refused),
            400 | 403 => Err(ProofError::Refused(format!(
                "STS refused the identity proof ({status}): {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))),
            _ => Err(failed(format!("STS answered {status}"))),
        }
    }
}
