//! Activities an organization publishes (a concert, a clean-up): the `ActivityPublished`
//! body, built and checked once for the CLI (`sagat activity publish`), the JSON API and the
//! organization's page. The activity id is the event id ([`super::event_ids`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sagat_verifier::{ActivityPublished, Category, EventBody, Names};

use super::fields::{check_date, optional_text, required_text};
use super::{append_one, event_ids, organizations, Created, IdempotencyKey, Ops, Result};
use crate::datadir::App;

/// An activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    /// Activity id.
    pub activity: String,
    /// Organization.
    pub org: String,
    /// Titles kk/ru/en.
    #[schema(value_type = Object)]
    pub titles: Names,
    /// Category (wire name).
    pub category: String,
    /// Place.
    pub place: Option<String>,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
}

/// The activities of `org`, in publication order.
pub fn of_org(app: &App, org: &str) -> Vec<ActivityView> {
    app.ledger.read(|s| {
        s.activities_of(org)
            .into_iter()
            .map(|a| ActivityView {
                activity: a.activity.clone(),
                org: org.to_string(),
                titles: a.titles.clone(),
                category: a.category.as_str().to_string(),
                place: a.place.clone(),
                from: a.from.clone(),
                to: a.to.clone(),
            })
            .collect()
    })
}

/// The activities of a registered `org`, or its 404.
pub fn list(app: &App, org: &str) -> Result<Vec<ActivityView>> {
    organizations::require(app, org)?;
    Ok(of_org(app, org))
}

/// A request to publish an activity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishActivity {
    /// English title.
    pub title_en: String,
    /// Kazakh title.
    pub title_kk: Option<String>,
    /// Russian title.
    pub title_ru: Option<String>,
    /// social, ecological, medical, animal_welfare, education, media, emergency_relief, events, other.
    pub category: String,
    /// Place.
    pub place: Option<String>,
    /// First day, YYYY-MM-DD.
    pub from: String,
    /// Last day, YYYY-MM-DD.
    pub to: String,
}

/// The `ActivityPublished` body of `req` for `org`, with activity (and event) id `id`; or the
/// first bad field (`title_en`, `category`, `from`, `to`).
pub fn published(org: &str, req: PublishActivity, id: String) -> Result<EventBody> {
    let title_en = required_text("title_en", &req.title_en)?;
    let category = Category::parse(req.category.trim()).ok_or_else(|| {
        super::Error::invalid(
            "category",
            "category",
            format!(
                "{:?} is not one of {}",
                req.category,
                Category::ALL.map(|c| c.as_str()).join(", ")
            ),
        )
    })?;
    let (from, to) = (req.from.trim().to_string(), req.to.trim().to_string());
    check_date("from", &from)?;
    check_date("to", &to)?;
    if to < from {
        return Err(super::Error::invalid(
            "to",
            "date-range",
            "`to` is before `from`",
        ));
    }
    Ok(EventBody::ActivityPublished(ActivityPublished {
        activity: id,
        org: org.to_string(),
        titles: Names {
            kk: optional_text(req.title_kk),
            ru: optional_text(req.title_ru),
            en: title_en,
        },
        category,
        place: optional_text(req.place),
        from,
        to,
    }))
}

/// Publishes an activity signed with `org`'s server-held key (API and page); the id derives
/// from `key` when there is one.
pub async fn publish(
    ops: &Ops,
    org: &str,
    req: PublishActivity,
    key: Option<&IdempotencyKey>,
) -> Result<Created> {
    let id = event_ids(key, org, "activity", 1).remove(0);
    let body = published(org, req, id.clone())?;
    append_one(ops, org, id, body).await
}
