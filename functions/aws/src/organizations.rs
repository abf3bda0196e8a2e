//! AWS Organizations: the accounts of the guard's organization, for the sweep when it answers for
//! the whole organization (`MEMBER_ACCOUNTS=organization`). `ListAccounts` answers only in the
//! organization's management account or a delegated administrator account.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::AccountState;
use model_guard_core::GuardError;
use model_guard_core::ports::OrganizationAccounts;

use crate::sdk_error;

pub struct Organization {
    client: Client,
}

impl Organization {
    pub fn new(client: Client) -> Organization {
        Organization { client }
    }
}

impl OrganizationAccounts for Organization {
    async fn active_accounts(&self) -> Result<Vec<String>, GuardError> {
        let mut accounts = Vec::new();
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("Organizations ListAccounts", &e))?;
            // A suspended or closing account can make no calls, and its role cannot be assumed.
            accounts.extend(
                page.accounts()
                    .iter()
                    .filter(|a| a.state() == Some(&AccountState::Active))
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        Ok(accounts)
    }
}
