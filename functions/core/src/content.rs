//! What a model runs, whatever its name: container images, S3 locations of model data and model
//! packages (docs/design.md, "Content"). Read from a container as CloudTrail logs it
//! (`primaryContainer.modelDataUrl`), as SageMaker's describes give it (`PrimaryContainer.
//! ModelDataUrl`, AWS CLI output pasted into a catalog) and as the SDK adapters fill it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One container's content.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerContent {
    /// The image URI as given (by tag or by digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its model data: `ModelDataUrl` or `ModelDataSource`, and every
    /// `AdditionalModelDataSources` channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DataLocation>,
    /// `ModelPackageName`: a model package version's ARN (or a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// An S3 location of model data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataLocation {
    pub uri: String,
    /// Everything under `uri` is served: a multi-model container's `ModelDataUrl`, or
    /// `S3DataType: S3Prefix`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
}

/// A container field that is there but unusable: the content is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

/// `key` of an object, whatever the case of its letters: CloudTrail writes `modelDataUrl`,
/// SageMaker's describes `ModelDataUrl`.
pub fn field_any_case<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn text(object: &Value, key: &str, at: &str) -> Result<Option<String>, Unreadable> {
    match field_any_case(object, key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(Unreadable {
            field: format!("{at}.{key}"),
            problem: "is empty".to_owned(),
        }),
        Some(other) => Err(Unreadable {
            field: format!("{at}.{key}"),
            problem: format!("is not a string ({other})")
                .chars()
                .take(120)
                .collect(),
        }),
    }
}

/// One container (`ContainerDefinition`, an inference component's container, or a model
/// package's): its image, its model data and its model package.
pub fn container(object: &Value, at: &str) -> Result<ContainerContent, Unreadable> {
    if !object.is_object() {
        return Err(Unreadable {
            field: at.to_owned(),
            problem: "is not an object".to_owned(),
        });
    }
    let multi_model = text(object, "mode", at)?.is_some_and(|m| m == "MultiModel");
    let url = match text(object, "modelDataUrl", at)? {
        Some(url) => Some(url),
        // An inference component's container.
        None => text(object, "artifactUrl", at)?,
    };
    let mut data = Vec::new();
    match (url, field_any_case(object, "modelDataSource")) {
        (Some(uri), _) => data.push(DataLocation {
            uri,
            prefix: multi_model,
        }),
        (None, Some(source)) => {
            data.push(s3_source(
                source,
                &format!("{at}.modelDataSource"),
                multi_model,
            )?);
        }
        (None, None) => {}
    }
    match field_any_case(object, "additionalModelDataSources") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, source) in list.iter().enumerate() {
                let at = format!("{at}.additionalModelDataSources[{i}]");
                data.push(s3_source(source, &at, false)?);
            }
        }
        Some(_) => {
            return Err(Unreadable {
                field: format!("{at}.additionalModelDataSources"),
                problem: "is not a list".to_owned(),
            });
        }
    }
    Ok(ContainerContent {
        image: text(object, "image", at)?,
        data,
        package: text(object, "modelPackageName", at)?,
    })
}

/// An `{s3DataSource: {s3Uri, s3DataType}}`: the location, a prefix when `S3Prefix`.
fn s3_source(source: &Value, at: &str, multi_model: bool) -> Result<DataLocation, Unreadable> {
    let Some(s3) = field_any_case(source, "s3DataSource") else {
        // Model data from elsewhere than S3 (none today): unknown, so unreadable.
        return Err(Unreadable {
            field: at.to_owned(),
            problem: "names no S3 data source".to_owned(),
        });
    };
    let at = format!("{at}.s3DataSource");
    let uri = text(s3, "s3Uri", &at)?.ok_or_else(|| Unreadable {
        field: format!("{at}.s3Uri"),
        problem: "is missing".to_owned(),
    })?;
    let s3_prefix = text(s3, "s3DataType", &at)?.is_some_and(|t| t == "S3Prefix");
    Ok(DataLocation {
        uri,
        prefix: multi_model || s3_prefix,
    })
}

/// A model's containers: `primaryContainer` and `containers[]` (CreateModel's parameters, or
/// DescribeModel's output).
pub fn model_containers(model: &Value) -> Result<Vec<ContainerContent>, Unreadable> {
    let mut out = Vec::new();
    if let Some(primary) = field_any_case(model, "primaryContainer") {
        out.push(container(primary, "primaryContainer")?);
    }
    match field_any_case(model, "containers") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, c) in list.iter().enumerate() {
                out.push(container(c, &format!("containers[{i}]"))?);
            }
        }
        Some(_) => {
            return Err(Unreadable {
                field: "containers".to_owned(),
                problem: "is not a list".to_owned(),
            });
        }
    }
    Ok(out)
}

/// A model package's containers: `inferenceSpecification.containers[]`.
pub fn package_containers(package: &Value) -> Result<Vec<ContainerContent>, Unreadable> {
    let Some(spec) = field_any_case(package, "inferenceSpecification") else {
        return Ok(Vec::new());
    };
    match field_any_case(spec, "containers") {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, c)| container(c, &format!("inferenceSpecification.containers[{i}]")))
            .collect(),
        Some(_) => Err(Unreadable {
            field: "inferenceSpecification.containers".to_owned(),
            problem: "is not a list".to_owned(),
        }),
    }
}

/// One deployment of an endpoint as DescribeEndpoint gives it: the config and the images
/// SageMaker resolved for its production and shadow variants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointDeployment {
    pub config: Option<String>,
    pub images: Vec<crate::resolve::ResolvedImage>,
}

/// The images SageMaker resolved for a deployment of `config`: those of the pending deployment
/// when it deploys `config` (an endpoint creating or updating), else the current one's when it
/// does; none when the endpoint deploys another config (the call's deployment is not what is
/// described, so what it resolved is unknown).
pub fn endpoint_images(
    current: &EndpointDeployment,
    pending: Option<&EndpointDeployment>,
    config: Option<&str>,
) -> crate::resolve::DeployedImages {
    let deploys = |d: &EndpointDeployment| matches!((d.config.as_deref(), config), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    match pending {
        Some(p) if deploys(p) => crate::resolve::DeployedImages {
            images: p.images.clone(),
            source: "DescribeEndpoint's PendingDeploymentSummary".to_owned(),
        },
        _ if deploys(current) => crate::resolve::DeployedImages {
            images: current.images.clone(),
            source: "DescribeEndpoint's DeployedImages".to_owned(),
        },
        _ => crate::resolve::DeployedImages {
            images: Vec::new(),
            source: "DescribeEndpoint: the endpoint deploys another config".to_owned(),
        },
    }
}

/// The resolved images of a DescribeEndpoint-shaped value's variants (`ProductionVariants[]` and
/// `ShadowProductionVariants[]`, each `DeployedImages[]` of `SpecifiedImage`/`ResolvedImage`),
/// whatever the case of its keys.
pub fn variant_images(deployment: &Value) -> Vec<crate::resolve::ResolvedImage> {
    let mut out = Vec::new();
    for section in ["productionVariants", "shadowProductionVariants"] {
        let Some(Value::Array(variants)) = field_any_case(deployment, section) else {
            continue;
        };
        for variant in variants {
            let Some(Value::Array(images)) = field_any_case(variant, "deployedImages") else {
                continue;
            };
            for image in images {
                let text = |k: &str| {
                    field_any_case(image, k)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                if let (Some(specified), Some(resolved)) =
                    (text("specifiedImage"), text("resolvedImage"))
                {
                    out.push(crate::resolve::ResolvedImage {
                        specified,
                        resolved,
                    });
                }
            }
        }
    }
    out
}

/// A DescribeEndpoint-shaped value's current and pending deployments.
pub fn endpoint_deployments(endpoint: &Value) -> (EndpointDeployment, Option<EndpointDeployment>) {
    let config = |v: &Value| {
        field_any_case(v, "endpointConfigName")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let current = EndpointDeployment {
        config: config(endpoint),
        images: variant_images(endpoint),
    };
    let pending =
        field_any_case(endpoint, "pendingDeploymentSummary").map(|p| EndpointDeployment {
            config: config(p),
            images: variant_images(p),
        });
    (current, pending)
}

/// The one form of an S3 location that `data#` patterns match: `s3://BUCKET/KEY`. SageMaker also
/// takes `https://` URLs to S3 (virtual-hosted and path style, any region, dual-stack); without
/// this, the bound artifact behind an `https://` URL would escape a `data#s3://…` key. Their keys
/// are percent-decoded (`fr%61ud` is `fraud`). Other URLs (S3 access points, other hosts) stay as
/// given.
pub fn canonical_data_uri(uri: &str) -> String {
    let Some(rest) = strip_prefix_ignore_case(uri, "https://") else {
        return uri.to_owned();
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let Some(service) = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
    else {
        return uri.to_owned();
    };
    let labels: Vec<&str> = service.split('.').collect();
    let is_s3 = |l: &str| {
        l == "s3" || (l.starts_with("s3-") && l != "s3-accesspoint" && l != "s3-object-lambda")
    };
    let Some(at) = labels.iter().position(|l| is_s3(l)) else {
        return uri.to_owned();
    };
    // Only what follows `s3` may be a region, `dualstack` or `s3-accelerate`'s nothing.
    let tail_ok = labels[at + 1..].iter().all(|l| {
        l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !tail_ok {
        return uri.to_owned();
    }
    let path = percent_decode(path);
    if at == 0 {
        // Path style: the bucket is the first segment.
        format!("s3://{path}")
    } else {
        format!("s3://{}/{path}", labels[..at].join("."))
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `%XX` sequences decoded (what S3 does with a URL's path); anything not a valid sequence, or
/// not UTF-8 once decoded, is left as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// The one form of an image URI that `image#` patterns match: the registry host in lower case
/// (host names ignore case; repository paths are lower case by Docker's rules, tags are not
/// touched), ECR's FIPS and dual-stack hosts as its standard one, and an image with neither tag
/// nor digest as `:latest`, which is what pulls it.
pub fn canonical_image_uri(uri: &str) -> String {
    let (host, path) = match uri.split_once('/') {
        // A registry host has a dot or a port (or is localhost); otherwise it is a path.
        Some((host, path)) if host.contains(['.', ':']) || host == "localhost" => (host, path),
        _ => return with_default_tag(uri),
    };
    let mut host = host.to_ascii_lowercase();
    // ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com and ACCOUNT.dkr-ecr.REGION.on.aws name the
    // registry ACCOUNT.dkr.ecr.REGION.amazonaws.com.
    if let Some((account, rest)) = host.split_once(".dkr.ecr-fips.") {
        host = format!("{account}.dkr.ecr.{rest}");
    } else if let Some((account, rest)) = host.split_once(".dkr-ecr.")
        && let Some(region) = rest.strip_suffix(".on.aws")
    {
        host = format!("{account}.dkr.ecr.{region}.amazonaws.com");
    }
    with_default_tag(&format!("{host}/{path}"))
}

fn with_default_tag(uri: &str) -> String {
    let image = ImageRef::parse(uri);
    if image.tag.is_none() && image.digest.is_none() {
        format!("{uri}:latest")
    } else {
        uri.to_owned()
    }
}

/// An image URI's parts: `REPOSITORY[:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(uri: &'a str) -> ImageRef<'a> {
        let (name, digest) = match uri.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (uri, None),
        };
        // A tag follows the last `:` after the last `/` (a registry's `:port` comes before it).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        ImageRef {
            repository,
            tag,
            digest,
        }
    }

    /// The form a digest pin matches: `REPOSITORY@DIGEST`.
    pub fn by_digest(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository)
    }
}

/// The digest of an image SageMaker resolved (`ResolvedImage`, `REPOSITORY@sha256:…`), if it
/// names one.
pub fn resolved_digest(resolved: &str) -> Option<String> {
    let digest = ImageRef::parse(resolved).digest?;
    is_digest(digest).then(|| digest.to_owned())
}

/// `sha256:` and 64 lower-case hex digits: the only digest ECR gives.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Why an image pattern can never match, if it cannot: a digest part (after `@`) that no
/// `sha256:` digest fits, or white space (SageMaker's image URIs have none).
pub fn image_pattern_problem(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("is empty".to_owned());
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some("has white space, which no image URI has".to_owned());
    }
    let (_, digest) = pattern.split_once('@')?;
    let never = || {
        Some(format!(
            "digest part {digest:?} can never match: a digest is \"sha256:\" and 64 lower-case \
             hex digits (a glob may stand for some of them)"
        ))
    };
    if digest.contains('@') {
        return Some("has more than one \"@\"".to_owned());
    }
    let Some(hex) = digest.strip_prefix("sha256:") else {
        // `@*` is any digest; anything else must spell the algorithm out.
        return if digest == "*" { None } else { never() };
    };
    if !hex
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'*' | b'?'))
    {
        return never();
    }
    let fixed = hex.bytes().filter(|&b| b != b'*').count();
    let fits = if hex.contains('*') {
        fixed <= 64
    } else {
        fixed == 64
    };
    if fits { None } else { never() }
}

/// Whether an image pattern pins a digest: only an image whose digest is known can match it.
pub fn is_digest_pattern(pattern: &str) -> bool {
    pattern.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn https_urls_to_s3_are_read_as_the_s3_location_they_name() {
        let s3 = "s3://ml-artifacts/fraud-v3/model.tar.gz";
        for url in [
            "https://ml-artifacts.s3.eu-west-1.amazonaws.com/fraud-v3/model.tar.gz",
            "https://ml-artifacts.s3.amazonaws.com/fraud-v3/model.tar.gz",
            "https://ml-artifacts.s3-eu-west-1.amazonaws.com/fraud-v3/model.tar.gz",
            "HTTPS://ML-ARTIFACTS.S3.EU-WEST-1.AMAZONAWS.COM/fraud-v3/model.tar.gz",
            "https://ml-artifacts.s3.dualstack.eu-west-1.amazonaws.com/fraud-v3/model.tar.gz",
            "https://s3.eu-west-1.amazonaws.com/ml-artifacts/fraud-v3/model.tar.gz",
            "https://s3.amazonaws.com/ml-artifacts/fr%61ud-v3/model.tar.gz",
            s3,
        ] {
            assert_eq!(canonical_data_uri(url), s3, "{url}");
        }
        assert_eq!(
            canonical_data_uri("https://my.bucket.s3.amazonaws.com/k"),
            "s3://my.bucket/k"
        );
        // Keys keep their case; other hosts and access points stay as given.
        assert_eq!(canonical_data_uri("s3://b/Fraud"), "s3://b/Fraud");
        for other in [
            "https://example.com/fraud-v3/model.tar.gz",
            "https://ap-111122223333.s3-accesspoint.eu-west-1.amazonaws.com/k",
            "https://b.s3.eu-west-1.amazonaws.com.evil.example/k",
        ] {
            assert_eq!(canonical_data_uri(other), other);
        }
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%ff"), "%ff");
    }

    #[test]
    fn image_uris_are_read_in_one_form() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:v3";
        for uri in [
            "123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM/fraud:v3",
            "123456789012.dkr.ecr-fips.eu-west-1.amazonaws.com/fraud:v3",
            "123456789012.dkr-ecr.eu-west-1.on.aws/fraud:v3",
            ecr,
        ] {
            assert_eq!(canonical_image_uri(uri), ecr, "{uri}");
        }
        assert_eq!(
            canonical_image_uri("123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:latest"
        );
        // Tags keep their case.
        assert_eq!(canonical_image_uri("r.example/a:V3"), "r.example/a:V3");
        assert_eq!(
            canonical_image_uri("registry:5000/a"),
            "registry:5000/a:latest"
        );
    }

    #[test]
    fn the_images_resolved_for_a_deployment_are_those_of_its_config_only() {
        let image = |d: &str| crate::resolve::ResolvedImage {
            specified: "r/a:1".into(),
            resolved: format!("r/a@{d}"),
        };
        let deployment = |config: &str, d: &str| EndpointDeployment {
            config: Some(config.into()),
            images: vec![image(d)],
        };
        let (old, new) = (
            deployment("old-cfg", "sha256:old"),
            deployment("NEW-cfg", "sha256:new"),
        );
        // Updating to the call's config: the pending deployment's, not the current one's.
        let got = endpoint_images(&old, Some(&new), Some("new-cfg"));
        assert_eq!(got.images, vec![image("sha256:new")]);
        assert!(got.source.contains("PendingDeploymentSummary"));
        // In service with the call's config (another update pending): the current one's.
        let got = endpoint_images(&new, Some(&old), Some("new-cfg"));
        assert_eq!(got.images, vec![image("sha256:new")]);
        // The endpoint deploys another config: nothing it reports is the call's.
        assert!(
            endpoint_images(&old, None, Some("new-cfg"))
                .images
                .is_empty()
        );
        assert!(endpoint_images(&old, None, None).images.is_empty());
    }

    #[test]
    fn image_parts() {
        let r = ImageRef::parse("1.dkr.ecr.eu-west-1.amazonaws.com/fraud:v3");
        assert_eq!(r.repository, "1.dkr.ecr.eu-west-1.amazonaws.com/fraud");
        assert_eq!(r.tag, Some("v3"));
        assert_eq!(r.digest, None);
        let r = ImageRef::parse("registry:5000/team/fraud");
        assert_eq!((r.repository, r.tag), ("registry:5000/team/fraud", None));
        let uri = format!("r/fraud:v3@{DIGEST}");
        let r = ImageRef::parse(&uri);
        assert_eq!(
            (r.repository, r.tag, r.digest),
            ("r/fraud", Some("v3"), Some(DIGEST))
        );
        assert_eq!(r.by_digest(DIGEST), format!("r/fraud@{DIGEST}"));
    }

    #[test]
    fn digest_patterns_that_can_never_match_are_named() {
        assert_eq!(image_pattern_problem(&format!("r/fraud@{DIGEST}")), None);
        assert_eq!(image_pattern_problem("r/fraud@sha256:*"), None);
        assert_eq!(image_pattern_problem("r/fraud@*"), None);
        assert_eq!(image_pattern_problem("r/fraud:*"), None);
        for bad in [
            "r/fraud@sha256:ABC".to_owned(),
            "r/fraud@sha256:0123".to_owned(),
            format!("r/fraud@{}", DIGEST.to_uppercase()),
            "r/fraud@md5:*".to_owned(),
            format!("r/fraud@{DIGEST}0"),
            "r/fraud @sha256:*".to_owned(),
            String::new(),
        ] {
            assert!(image_pattern_problem(&bad).is_some(), "{bad}");
        }
        assert!(is_digest(DIGEST));
        assert_eq!(
            resolved_digest(&format!("r/fraud@{DIGEST}")),
            Some(DIGEST.to_owned())
        );
        assert_eq!(resolved_digest("r/fraud:v3"), None);
    }

    #[test]
    fn containers_as_cloudtrail_and_describe_give_them() {
        let cloudtrail = json!({
            "primaryContainer": {"image": "r/a:1", "modelDataUrl": "s3://b/a.tar.gz"},
            "containers": [
                {"image": "r/mme:1", "mode": "MultiModel", "modelDataUrl": "s3://b/mme/"},
                {"modelDataSource": {"s3DataSource": {"s3Uri": "s3://b/llm/",
                                                      "s3DataType": "S3Prefix"}}},
                {"modelPackageName": "arn:aws:sagemaker:eu-west-1:1:model-package/fraud/3"}]});
        let described = json!({
            "PrimaryContainer": {"Image": "r/a:1", "ModelDataUrl": "s3://b/a.tar.gz"},
            "Containers": [
                {"Image": "r/mme:1", "Mode": "MultiModel", "ModelDataUrl": "s3://b/mme/"},
                {"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/llm/",
                                                      "S3DataType": "S3Prefix"}}},
                {"ModelPackageName": "arn:aws:sagemaker:eu-west-1:1:model-package/fraud/3"}]});
        let a = model_containers(&cloudtrail).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model_containers(&described), Ok(a.clone()));
        assert_eq!(a.len(), 4);
        assert!(!a[0].data[0].prefix);
        assert!(a[1].data[0].prefix);
        assert!(a[2].data[0].prefix && a[2].data[0].uri == "s3://b/llm/");
        assert!(a[3].package.is_some());
        let ic = container(
            &json!({"image": "r/x:1", "artifactUrl": "s3://b/x.tar.gz"}),
            "c",
        );
        assert_eq!(
            ic.map(|c| c.data),
            Ok(vec![DataLocation {
                uri: "s3://b/x.tar.gz".into(),
                prefix: false
            }])
        );
        let extra = container(
            &json!({"image": "r/a:1", "additionalModelDataSources": [
                {"channelName": "draft", "s3DataSource": {"s3Uri": "s3://b/fraud/",
                                                          "s3DataType": "S3Prefix"}}]}),
            "c",
        );
        assert_eq!(
            extra.map(|c| c.data),
            Ok(vec![DataLocation {
                uri: "s3://b/fraud/".into(),
                prefix: true
            }])
        );
        let bad = model_containers(&json!({"primaryContainer": {"image": 3}}));
        assert!(bad.is_err_and(|e| e.field == "primaryContainer.image"));
    }
}
