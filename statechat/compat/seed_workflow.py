"""The seed's canonical example workflow, verbatim.

It references steps ``invalid_amount`` and ``invalid_account`` that it never defines, so compiling
it fails with a clear error naming both; ``flows/banking_transfer.yaml`` is the corrected version.
"""

from __future__ import annotations

from typing import Any

BANKING_TRANSFER_WORKFLOW: dict[str, Any] = {
    "workflow_id": "banking_transfer_v1",
    "name": "Banking Transfer",
    "description": "Transfer money between the user's accounts",
    "trigger_intent": "transfer_money",
    "variables": {"currency": "USD"},
    "timeout": 300,
    "steps": [
        {
            "id": "authenticate",
            "type": "auth",
            "name": "Authenticate user",
            "auth_provider": "session",
            "next_step": "get_amount",
            "on_error": "auth_failed",
        },
        {
            "id": "get_amount",
            "type": "slot_fill",
            "name": "Get transfer amount",
            "slot": "amount",
            "prompt": "How much would you like to transfer?",
            "validation": {"type": "number", "min": 0.01, "max": 10000},
            "retry_limit": 3,
            "next_step": "get_from_account",
            "on_error": "invalid_amount",
        },
        {
            "id": "get_from_account",
            "type": "slot_fill",
            "name": "Get source account",
            "slot": "from_account",
            "prompt": "Which account would you like to transfer from?",
            "validation": {"type": "account_exists"},
            "retry_limit": 3,
            "next_step": "get_to_account",
            "on_error": "invalid_account",
        },
        {
            "id": "get_to_account",
            "type": "slot_fill",
            "name": "Get destination account",
            "slot": "to_account",
            "prompt": "Which account should receive the money?",
            "validation": {"type": "account_exists"},
            "retry_limit": 3,
            "next_step": "validate_access",
            "on_error": "invalid_account",
        },
        {
            "id": "validate_access",
            "type": "custom_action",
            "name": "Validate account access",
            "action_name": "validate_account_access",
            "parameters": {"account_id": "{from_account}"},
            "next_step": "check_balance",
            "on_error": "access_denied",
        },
        {
            "id": "check_balance",
            "type": "api_call",
            "name": "Check balance",
            "integration": "core_banking",
            "endpoint": "/accounts/{from_account}/balance",
            "method": "GET",
            "response_mapping": {"balance": "current_balance"},
            "timeout": 10,
            "retry_on_failure": True,
            "next_step": "verify_funds",
            "on_error": "service_error",
        },
        {
            "id": "verify_funds",
            "type": "condition",
            "name": "Verify sufficient funds",
            "condition": "current_balance >= variables['amount']",
            "if_true": "confirm_transfer",
            "if_false": "insufficient_funds",
        },
        {
            "id": "confirm_transfer",
            "type": "slot_fill",
            "name": "Confirm transfer",
            "slot": "confirmation",
            "prompt": "Transfer ${amount} from {from_account} to {to_account}? (yes/no)",
            "validation": {"type": "choice", "choices": ["yes", "no"]},
            "next_step": "check_confirmation",
        },
        {
            "id": "check_confirmation",
            "type": "condition",
            "condition": "confirmation == 'yes'",
            "if_true": "execute_transfer",
            "if_false": "transfer_cancelled",
        },
        {
            "id": "execute_transfer",
            "type": "api_call",
            "name": "Execute transfer",
            "integration": "core_banking",
            "endpoint": "/transfers",
            "method": "POST",
            "request_body": {
                "from_account": "{from_account}",
                "to_account": "{to_account}",
                "amount": "{amount}",
            },
            "response_mapping": {"transaction_id": "transaction_id"},
            "retry_on_failure": True,
            "next_step": "transfer_complete",
            "on_error": "service_error",
        },
        {
            "id": "transfer_complete",
            "type": "response",
            "response_text": "Done! ${amount} was sent from {from_account} to {to_account}. "
            "Reference: {transaction_id}.",
        },
        {
            "id": "insufficient_funds",
            "type": "response",
            "response_text": "Sorry, your balance of ${current_balance} is not enough "
            "to transfer ${amount}.",
        },
        {
            "id": "transfer_cancelled",
            "type": "response",
            "response_text": "Okay, the transfer was cancelled.",
        },
        {
            "id": "auth_failed",
            "type": "response",
            "response_text": "Sorry, I could not verify your identity.",
        },
        {
            "id": "access_denied",
            "type": "response",
            "response_text": "Sorry, you do not have access to account {from_account}.",
        },
        {
            "id": "service_error",
            "type": "response",
            "response_text": "Our banking service is unavailable right now. Please try again later.",
        },
    ],
    "error_handling": {
        "response_text": "Sorry, something went wrong with your transfer.",
        "next_step": "service_error",
    },
}
