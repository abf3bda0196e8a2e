"""The guard's tables as the stack makes them (cdk/lib/model-guard-stack.ts), for the tests that
deploy into the testbed under the names .testbed/env gives the functions."""

from __future__ import annotations


def ensure_tables(ddb, policy: str, decisions: str, records: str) -> None:  # noqa: ANN001
    # All pages: the Rust tests leave many tables of their own behind on a shared testbed.
    existing = [n for page in ddb.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    if policy not in existing:
        # The stream carries each change to the watch function (NEW_AND_OLD_IMAGES: the diff).
        ddb.create_table(TableName=policy, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    if decisions not in existing:
        ddb.create_table(
            TableName=decisions, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "eventId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                                  for a in ("eventId", "resourceKey", "decidedAt", "state", "alertOwed", "undecided")],
            # byResource and byState hold every item: keys only, so each write of theirs is one
            # unit (functions/aws/src/keyed_reads.rs reads the items from the table).
            GlobalSecondaryIndexes=[{"IndexName": index, "KeySchema": [
                {"AttributeName": key, "KeyType": "HASH"},
                {"AttributeName": "decidedAt", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": projection}}
                for index, key, projection in (("byResource", "resourceKey", "KEYS_ONLY"), ("byState", "state", "KEYS_ONLY"),
                                               ("byAlertOwed", "alertOwed", "ALL"))] + [
                # The ledger of unsettled events: the sweep scans it.
                {"IndexName": "byUndecided", "KeySchema": [{"AttributeName": "undecided", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "ALL"}}],
        )
    if records not in existing:
        ddb.create_table(
            TableName=records, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")])
