//! `guardctl approve` and `guardctl enforce-now`: a SigV4-signed POST to the approval function's
//! URL (AWS_IAM auth) with the caller's own credentials, carrying an identity proof: a presigned
//! `sts:GetCallerIdentity`, signed with the same credentials, bound to this request's target,
//! decision, reason and a fresh nonce (`model_guard_core::proof`). The function asks STS who
//! signed it. Its answer, refusal reasons included, is shown as it is.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use model_guard_aws::sts_proof::{presign_caller_identity, sts_endpoint};
use model_guard_core::approval::{ApprovalDecision, ApproveRequest, TargetKind};

use crate::DecideArgs;
use crate::aws::Aws;
use crate::failure::Failure;

/// Function URLs are signed for the Lambda service.
const SERVICE: &str = "lambda";
const TIMEOUT: Duration = Duration::from_secs(30);

const REGION_HINT: &str = "the proof is signed for your region's STS: check AWS_REGION (or the \
     profile's region) and any AWS_ENDPOINT_URL";
const URL_HINT: &str = "give the stack's ApprovalUrl output with --approval-url \
     (MODEL_GUARD_APPROVAL_URL), or name the stack with --stack";
const CREDENTIALS_HINT: &str = "sign in (`aws sso login`) or choose a profile with AWS_PROFILE; \
     `aws sts get-caller-identity` shows who you are";
const NETWORK_HINT: &str = "check the network and the URL (--approval-url, MODEL_GUARD_APPROVAL_URL), \
     then run again";

pub async fn decide(
    aws: &mut Aws,
    decision: &str,
    args: &DecideArgs,
    json: bool,
) -> Result<String, Failure> {
    let url = aws.approval_url().await?;
    let signer = Signer::for_url(aws, &url).await?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| {
        Failure::aws(
            format!("no randomness for the nonce: {e}"),
            "the operating system gave no randomness: run again, and report it if it lasts",
        )
    })?;
    let mut request = ApproveRequest {
        target: args.target.clone(),
        target_kind: args.target_kind().map(|k| match k {
            "event" => TargetKind::Event,
            _ => TargetKind::Resource,
        }),
        decision: match decision {
            "approve" => ApprovalDecision::Approve,
            _ => ApprovalDecision::EnforceNow,
        },
        reason: args.reason.clone(),
        nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
        proof: String::new(),
    };
    // The function sends the proof to STS in its own region: sign for that endpoint.
    let config = aws.config().await;
    let endpoint = sts_endpoint(&signer.region, config.endpoint_url())
        .await
        .map_err(|e| Failure::bad_input(e.message, REGION_HINT))?;
    request.proof = presign_caller_identity(
        &signer.identity,
        &signer.region,
        &endpoint,
        &request.binding(),
        SystemTime::now(),
    )
    .map_err(|e| Failure::bad_input(e.message, REGION_HINT))?;
    let body = serde_json::to_string(&request).map_err(Failure::cannot_print)?;
    let (status, answer) = post_signed(&signer, &url, body).await?;
    let text = |key: &str| {
        answer
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    // Lambda's own refusals (a bad signature, no permission) come as {"Message": …}, not the
    // function's {"error", "reason"}.
    let (error, reason) = match answer.get("Message").and_then(Value::as_str) {
        Some(message) => ("lambda".to_owned(), message.to_owned()),
        None => (text("error"), text("reason")),
    };
    match status {
        200 if json => serde_json::to_string_pretty(&answer).map_err(Failure::cannot_print),
        200 => {
            let resource = answer
                .get("resource")
                .map(|r| {
                    let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
                    format!(" ({} {})", field("type"), field("name"))
                })
                .unwrap_or_default();
            Ok(format!(
                "{}: event {}{resource}, by {}",
                text("outcome"),
                text("eventId"),
                text("by")
            ))
        }
        _ => {
            let said = format!("the approval function answered {status} {error}: {reason}");
            Err(match status {
                400 | 405 => Failure::bad_input(
                    said,
                    "give the resource name or event ID `guardctl pending` shows, and a --reason",
                ),
                403 => Failure::refused(
                    said,
                    "only the binding's approvers may decide (`guardctl pending` shows them), \
                     never on their own deployment; your role needs lambda:InvokeFunctionUrl on \
                     the URL; and a refused proof of who you are means AWS_REGION must be the \
                     approval function's",
                ),
                404 => Failure::refused(
                    said,
                    "`guardctl pending` lists what waits for a decision; \
                     `guardctl history --resource NAME` what happened to the rest",
                ),
                409 => Failure::refused(
                    said,
                    "do what the reason above says: name the event with --event when a name \
                     means several, try again in a moment when it is not waiting yet, and \
                     `guardctl history --resource NAME` shows one decided already",
                ),
                _ => Failure::aws(
                    said,
                    "the approval function failed: run again; `guardctl status` checks the guard",
                ),
            })
        }
    }
}

/// The caller's credentials, and the region of the approval function (where its STS is).
struct Signer {
    identity: Identity,
    region: String,
    host: String,
    uri: http::Uri,
}

impl Signer {
    async fn for_url(aws: &mut Aws, url: &str) -> Result<Signer, Failure> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| Failure::bad_input(format!("approval URL {url:?}: {e}"), URL_HINT))?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| {
                Failure::bad_input(format!("approval URL {url:?} has no host"), URL_HINT)
            })?;
        let config = aws.config().await;
        // A Function URL names its region (<id>.lambda-url.<region>.on.aws): sign for that one,
        // which need not be the profile's. Elsewhere (a proxy, the testbed) the configured region.
        let region = match url_region(&host) {
            Some(region) => region.to_owned(),
            None => config
                .region()
                .ok_or_else(|| {
                    Failure::bad_input(
                        "no AWS region",
                        "set AWS_REGION, or give the profile a region \
                         (`aws configure set region eu-west-1`)",
                    )
                })?
                .to_string(),
        };
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| Failure::bad_input("no AWS credentials configured", CREDENTIALS_HINT))?
            .provide_credentials()
            .await
            .map_err(|e| {
                Failure::aws(format!("cannot get AWS credentials: {e}"), CREDENTIALS_HINT)
            })?;
        Ok(Signer {
            identity: credentials.into(),
            region,
            host,
            uri,
        })
    }
}

/// POSTs `body` to `url`, signed (service `lambda`) with the caller's credentials.
async fn post_signed(signer: &Signer, url: &str, body: String) -> Result<(u16, Value), Failure> {
    let (uri, host, region, identity) =
        (&signer.uri, &signer.host, &signer.region, &signer.identity);

    let mut request = http::Request::builder()
        .method("POST")
        .uri(uri.clone())
        .header("host", host)
        .header("content-type", "application/json")
        .body(body.clone())
        .map_err(|e| Failure::bad_input(format!("approval request: {e}"), URL_HINT))?;
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Failure::bad_input(format!("cannot sign: {e}"), CREDENTIALS_HINT))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| Failure::bad_input(format!("cannot sign: {e}"), URL_HINT))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Failure::bad_input(format!("cannot sign: {e}"), CREDENTIALS_HINT))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);

    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| {
            Failure::aws(
                format!("cannot load the system's CA certificates: {e}"),
                "install the system's CA certificates (the ca-certificates package), or point \
                 SSL_CERT_FILE at a bundle",
            )
        })?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let request = request.map(|b| Full::new(Bytes::from(b)));
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .map_err(|_| {
            Failure::aws(
                format!("{url}: no answer in {} s", TIMEOUT.as_secs()),
                NETWORK_HINT,
            )
        })?
        .map_err(|e| Failure::aws(format!("{url}: {e}"), NETWORK_HINT))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| {
            Failure::aws(
                format!("{url}: reading the answer: {e}"),
                "the connection broke: run again",
            )
        })?
        .to_bytes();
    let answer = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        // Not JSON at all (a proxy's error page): shown as Lambda's own refusals are.
        json!({"Message": String::from_utf8_lossy(&bytes).trim().to_owned()})
    });
    Ok((status, answer))
}

/// The region in a Function URL's host, `<id>.lambda-url.<region>.on.aws`.
fn url_region(host: &str) -> Option<&str> {
    let rest = host.split(':').next()?.split_once(".lambda-url.")?.1;
    let region = rest.strip_suffix(".on.aws")?;
    (!region.is_empty() && !region.contains('.')).then_some(region)
}

#[cfg(test)]
mod tests {
    use super::url_region;

    #[test]
    fn a_function_url_names_its_region() {
        assert_eq!(
            url_region("abc123.lambda-url.eu-west-1.on.aws"),
            Some("eu-west-1")
        );
        assert_eq!(
            url_region("abc123.lambda-url.eu-west-1.on.aws:443"),
            Some("eu-west-1")
        );
        assert_eq!(url_region("127.0.0.1:4566"), None);
        assert_eq!(url_region("abc.lambda-url..on.aws"), None);
        assert_eq!(url_region("example.com"), None);
    }
}
