//! The task token vault over KMS: Notify encrypts AwaitApproval's token before it is stored on the
//! audit item, the approval function decrypts it. The key policy lets only those two roles use
//! the key, so reading the decisions table (or its indexes) gives no token. The encryption
//! context binds a sealed token to its event.

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_smithy_types::base64;
use model_guard_core::ports::TokenVault;
use model_guard_core::{ErrorKind, GuardError};

use crate::sdk_error;

/// The encryption context's keys: what a sealed token is for.
const CONTEXT_EVENT: &str = "modelGuardEventId";
const CONTEXT_PURPOSE: &str = "modelGuardPurpose";
const PURPOSE: &str = "approval-task-token";

pub struct KmsTokenVault {
    client: Client,
    key_id: String,
}

impl KmsTokenVault {
    pub fn new(client: Client, key_id: impl Into<String>) -> KmsTokenVault {
        KmsTokenVault {
            client,
            key_id: key_id.into(),
        }
    }
}

impl TokenVault for KmsTokenVault {
    async fn seal(&self, event_id: &str, token: &str) -> Result<String, GuardError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(token.as_bytes()))
            .encryption_context(CONTEXT_EVENT, event_id)
            .encryption_context(CONTEXT_PURPOSE, PURPOSE)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("Encrypt with {}", self.key_id), &e))?;
        let blob = out.ciphertext_blob.ok_or_else(|| {
            GuardError::new(ErrorKind::AwsError, "Encrypt returned no ciphertext")
        })?;
        Ok(base64::encode(blob.as_ref()))
    }

    async fn open(&self, event_id: &str, sealed: &str) -> Result<String, GuardError> {
        let blob = base64::decode(sealed).map_err(|e| {
            GuardError::new(
                ErrorKind::AuditConflict,
                format!("event {event_id}: the stored task token is not base64: {e}"),
            )
        })?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_EVENT, event_id)
            .encryption_context(CONTEXT_PURPOSE, PURPOSE)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("Decrypt with {}", self.key_id), &e))?;
        let plain = out
            .plaintext
            .ok_or_else(|| GuardError::new(ErrorKind::AwsError, "Decrypt returned no plaintext"))?;
        String::from_utf8(plain.into_inner()).map_err(|e| {
            GuardError::new(
                ErrorKind::AuditConflict,
                format!("event {event_id}: the task token is not text: {e}"),
            )
        })
    }
}
