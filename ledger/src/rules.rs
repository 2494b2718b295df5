//! The ledger's rules by name: what each one is about, and whose fault breaking it is.
//!
//! A [`Violation`](crate::Violation) names its rule as a [`Rule`], never as text to be parsed
//! again: adapters (the CLI, the JSON API, the web pages) map the rule and its field to their
//! own words in one place each. The stable names are listed in docs/api.md ("Rules").

use std::fmt;

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, field $field:expr, $fault:ident; )*) => {
        /// A rule an entry can break. The name ([`Rule::name`]) is stable: clients match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// Every rule, in the order of docs/api.md.
            pub const ALL: &'static [Rule] = &[$( Rule::$variant, )*];

            /// The stable name, e.g. `daily-limit`.
            pub fn name(self) -> &'static str {
                match self { $( Rule::$variant => $name, )* }
            }

            /// The event field the rule is about when it is always the same one (`minutes` for
            /// `daily-limit`); a violation may name a more precise one ([`Violation::field`](crate::Violation::field)).
            pub fn field(self) -> Option<&'static str> {
                match self { $( Rule::$variant => $field, )* }
            }

            /// Whose fault breaking the rule is.
            pub fn fault(self) -> Fault {
                match self { $( Rule::$variant => Fault::$fault, )* }
            }
        }
    };
}

/// Whose fault a broken rule is: what an HTTP adapter answers (422, 403, 409, 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The entry's data is wrong (an unknown volunteer, a date in the future, too many hours).
    Data,
    /// The signer may not do this (a suspended organization).
    Permission,
    /// The entry collides with one already in the log (same event id, other bytes).
    Conflict,
    /// Not the caller's fault: the log itself cannot take the entry (full, or out of step).
    Ours,
}

rules! {
    /// The event's schema version is not one this ledger knows.
    Version = "version", field Some("v"), Data;
    /// An id is not in its format (32 hex digits, or a name id).
    IdFormat = "id-format", field None, Data;
    /// The event id is already used by another entry.
    DuplicateId = "duplicate-id", field Some("id"), Data;
    /// The event id is already in the log with different bytes.
    Idempotency = "idempotency", field Some("id"), Conflict;
    /// The COSE kid is not the key id of the key that must sign.
    Kid = "kid", field Some("body"), Data;
    /// The signature does not verify with the key that must sign.
    Signature = "signature", field Some("body"), Data;
    /// The event type, or its signer kind, is not one this ledger knows.
    EventType = "event-type", field Some("body"), Data;
    /// The log cannot take another entry, or the entry was applied out of order.
    LogIndex = "log-index", field None, Ours;
    /// A required text is empty.
    RequiredText = "required-text", field None, Data;
    /// A text is too long, not NFC, or holds control characters.
    TextFormat = "text-format", field None, Data;
    /// A date is not a real calendar date as YYYY-MM-DD.
    DateFormat = "date-format", field Some("date"), Data;
    /// A date is before 2000-01-01, in the future, or after 2179-06-06.
    DateRange = "date-range", field Some("date"), Data;
    /// Minutes are not in 1..=1440.
    Minutes = "minutes", field Some("minutes"), Data;
    /// A public key is not a usable Ed25519 key (or is the key already in force).
    PublicKey = "public-key", field Some("public_key"), Data;
    /// No registered organization with this id.
    OrgExists = "org-exists", field Some("org"), Data;
    /// The organization id is already registered.
    OrgUnique = "org-unique", field Some("org"), Data;
    /// The organization is suspended and may not append.
    OrgSuspended = "org-suspended", field Some("org"), Permission;
    /// Suspending a suspended organization, or reinstating one that is not suspended.
    OrgStatus = "org-status", field Some("org"), Data;
    /// An organization update that changes nothing (about the entry as a whole).
    OrgUpdateChanges = "org-update-changes", field None, Data;
    /// No enrolled volunteer with this id.
    VolunteerExists = "volunteer-exists", field Some("volunteer"), Data;
    /// The volunteer id is already enrolled.
    VolunteerUnique = "volunteer-unique", field Some("volunteer"), Data;
    /// An activity's `from` is after its `to`.
    ActivityDates = "activity-dates", field Some("to"), Data;
    /// No published activity with this id.
    ActivityExists = "activity-exists", field Some("activity"), Data;
    /// The activity belongs to another organization.
    ActivityOrg = "activity-org", field Some("activity"), Data;
    /// The day worked is outside the activity's period.
    ActivityPeriod = "activity-period", field Some("date"), Data;
    /// The activity id is already published.
    ActivityUnique = "activity-unique", field Some("activity"), Data;
    /// No attestation with this id.
    AttestationExists = "attestation-exists", field Some("attestation"), Data;
    /// The attestation was made by another organization.
    AttestingOrg = "attesting-org", field Some("attestation"), Data;
    /// The attestation was retracted.
    AttestationLive = "attestation-live", field Some("attestation"), Data;
    /// The attestation id already exists.
    AttestationUnique = "attestation-unique", field Some("attestation"), Data;
    /// The volunteer would have more than 24 hours on one day.
    DailyLimit = "daily-limit", field Some("minutes"), Data;
    /// No registered issuer with this id.
    IssuerExists = "issuer-exists", field Some("issuer"), Data;
    /// The issuer id is already registered.
    IssuerUnique = "issuer-unique", field Some("issuer"), Data;
    /// An issuer key's `valid_until` is not after its `valid_from`.
    IssuerPeriod = "issuer-period", field Some("valid_until"), Data;
    /// A credential was issued outside its issuer key's validity.
    IssuerValidity = "issuer-validity", field Some("created"), Data;
    /// The credential id was already issued.
    CredentialUnique = "credential-unique", field Some("credential"), Data;
    /// The credential hash is not 32 bytes.
    CredentialHash = "credential-hash", field Some("credential_sha256"), Data;
    /// The status-list index is already taken.
    StatusIndex = "status-index", field Some("status_index"), Data;
    /// No issued credential with this id.
    CredentialExists = "credential-exists", field Some("credential"), Data;
    /// The credential was issued by another issuer.
    CredentialIssuer = "credential-issuer", field Some("credential"), Data;
    /// The credential was already revoked.
    CredentialLive = "credential-live", field Some("credential"), Data;
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lets tests and callers compare with the stable name: `violation.rule == "daily-limit"`.
impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for r in Rule::ALL {
            assert!(seen.insert(r.name()), "{} twice", r.name());
            assert!(r
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
    }

    /// Every rule the rule code can break is in the table: the names written in the sources
    /// (`Rule::X` in state.rs, ledger.rs, texts.rs) are all of `Rule::ALL`, no more, no less.
    #[test]
    fn every_rule_is_used_by_the_rules_code() {
        let sources = [
            include_str!("state.rs"),
            include_str!("ledger.rs"),
            include_str!("texts.rs"),
        ]
        .concat();
        for r in Rule::ALL {
            let variant = format!("Rule::{r:?}");
            assert!(sources.contains(&variant), "{variant} is never broken");
        }
    }
}
