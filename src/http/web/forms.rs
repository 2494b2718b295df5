//! The hidden fields of the web forms: the once-only nonce ([`crate::http::once`]) and the
//! session's CSRF token ([`super::csrf`]).

pub use crate::http::once::{is_nonce, new_nonce, Flash};

/// The hidden fields of every state-changing form a signed-in page renders, in one place: the
/// per-render `nonce` (idempotency, above) and the session's `csrf` token
/// ([`super::csrf::token_for`], checked on the post). Every such form calls this.
pub fn hidden_fields(csrf: &str) -> maud::Markup {
    maud::html! {
        input type="hidden" name="nonce" value=(new_nonce());
        input type="hidden" name=(super::csrf::FIELD) value=(csrf);
    }
}
