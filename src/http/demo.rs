//! `sagat serve --demo`: a believable data set to click through — a city youth resource centre,
//! an eco group and an animal shelter (server-held keys), activities titled in kk/ru/en,
//! 30 volunteers and about 300 attestations over the past year. Deterministic (seeded RNG) apart
//! from ids and secrets. Seeding twice does nothing new: an existing demo is detected by its
//! first organization, and only fresh sign-in secrets are minted.

use anyhow::{anyhow, Result};
use rand::{Rng, SeedableRng};

use sagat_verifier::{
    ActivityPublished, Category, EventBody, HoursAttested, Names, OrganizationRegistered,
    VolunteerEnrolled,
};

use super::AppState;
use crate::datadir::tokens::{Kind, Role};
use crate::datadir::{new_id, now};
use crate::ops;

/// What `--demo` created, and the secrets to sign in with (shown once).
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// (org id, token).
    pub org_tokens: Vec<(String, String)>,
    /// One volunteer's (name, id, access code).
    pub volunteer: Option<(String, String, String)>,
    /// Entries appended by the seeding.
    pub appended: usize,
}

impl DemoInfo {
    /// Prints where to click first.
    pub fn print(&self, addr: std::net::SocketAddr) {
        println!("demo data: {} log entries added", self.appended);
        println!("where to click first:");
        println!("  1. http://{addr}/signin — paste an organization token:");
        for (org, tok) in &self.org_tokens {
            println!("       {org}: {tok}");
        }
        if let Some((name, id, code)) = &self.volunteer {
            println!("  2. http://{addr}/signin — volunteer {name} ({id}) access code:");
            println!("       {code}");
            println!("     then \"Get a certificate\" and copy its QR text");
        }
        println!("  3. http://{addr}/verify — paste the QR text: the verdict is VALID");
    }
}

const ORGS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "almaty-youth-centre",
        "Алматы қалалық жастар ресурстық орталығы",
        "Молодёжный ресурсный центр города Алматы",
        "Almaty City Youth Resource Centre",
        "Almaty",
    ),
    (
        "taza-qala-eco",
        "«Таза қала» экологиялық тобы",
        "Экологическая группа «Таза кала»",
        "Taza Qala eco group",
        "Astana",
    ),
    (
        "meyirim-shelter",
        "«Мейірім» жануарлар баспанасы",
        "Приют для животных «Мейірім»",
        "Meyirim animal shelter",
        "Karaganda region",
    ),
];

/// (org index, kk, ru, en, category, place).
const ACTIVITIES: [(usize, &str, &str, &str, Category, &str); 7] = [
    (
        0,
        "Қарттарға көмек апталығы",
        "Неделя помощи пожилым",
        "Help-the-elderly week",
        Category::Social,
        "Almaty",
    ),
    (
        0,
        "Мектеп оқушыларына тәлімгерлік",
        "Наставничество школьников",
        "Mentoring school pupils",
        Category::Education,
        "Almaty",
    ),
    (
        0,
        "Наурыз мерекесі еріктілері",
        "Волонтёры праздника Наурыз",
        "Nauryz festival stewards",
        Category::Events,
        "Almaty",
    ),
    (
        1,
        "Есіл жағалауын тазалау",
        "Уборка набережной Есиля",
        "Yesil riverbank clean-up",
        Category::Ecological,
        "Astana",
    ),
    (
        1,
        "Ағаш отырғызу",
        "Посадка деревьев",
        "Tree planting",
        Category::Ecological,
        "Astana",
    ),
    (
        2,
        "Баспанадағы күтім",
        "Уход за животными в приюте",
        "Shelter care shifts",
        Category::AnimalWelfare,
        "Karaganda",
    ),
    (
        2,
        "Жануарларды асырап алу күні",
        "День пристройства животных",
        "Adoption day",
        Category::Events,
        "Karaganda",
    ),
];

const NAMES: [&str; 30] = [
    "Әлия Сәрсенбаева",
    "Нұрлан Қасымов",
    "Айгерім Жұмабекова",
    "Дәулет Оспанов",
    "Аружан Мұратқызы",
    "Ерлан Төлеуов",
    "Мадина Әбдірахманова",
    "Бекзат Нұрғалиев",
    "Жансая Серікова",
    "Асхат Бейсенов",
    "Дина Ким",
    "Тимур Ахметов",
    "Анна Петренко",
    "Ұлжан Есенова",
    "Ғалым Құлмағанбетов",
    "Айдана Рахымжанова",
    "Санжар Өтепов",
    "Камила Исаева",
    "Ілияс Шәкенов",
    "Мария Иванова",
    "Арман Жақсылықов",
    "Томирис Бақытжанқызы",
    "Руслан Ли",
    "Гүлнар Сейітова",
    "Алихан Мұхамеджанов",
    "Салтанат Әлімова",
    "Ержан Нысанбаев",
    "Полина Сидорова",
    "Әсел Байжанова",
    "Нұрсұлтан Ғабитов",
];

const ROLES: [&str; 5] = ["steward", "coordinator", "helper", "mentor", "driver"];

/// Seeds the demo data set (blocking; call off the async reactor).
pub fn seed(state: &AppState) -> Result<DemoInfo> {
    let app = &state.app;
    let t = now();
    let mut org_tokens = Vec::new();
    if ops::org_exists(app, ORGS[0].0) {
        for (org, ..) in ORGS {
            let tok = state
                .tokens
                .mint(Role::Org(org.to_string()), Kind::Token, None, t)?;
            org_tokens.push((org.to_string(), tok));
        }
        return Ok(DemoInfo {
            org_tokens,
            volunteer: None,
            appended: 0,
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let today = (t / 86_400) as i32;
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut texts = sagat_ledger::PendingTexts::default();
    let mut keys = Vec::new();
    for (org, kk, ru, en, region) in ORGS {
        let key = crate::datadir::orgkeys::create(app, org)?;
        let body = EventBody::OrganizationRegistered(OrganizationRegistered {
            org: org.to_string(),
            names: Names {
                kk: Some(kk.to_string()),
                ru: Some(ru.to_string()),
                en: en.to_string(),
            },
            region: Some(region.to_string()),
            public_key: key.verifying_key().to_bytes().to_vec(),
        });
        entries.push(seal(app, &mut texts, body, &app.operator_key)?);
        keys.push(key);
    }
    let mut activities: Vec<(usize, String)> = Vec::new();
    for (org_i, kk, ru, en, category, place) in ACTIVITIES {
        let id = new_id();
        let body = EventBody::ActivityPublished(ActivityPublished {
            activity: id.clone(),
            org: ORGS[org_i].0.to_string(),
            titles: Names {
                kk: Some(kk.to_string()),
                ru: Some(ru.to_string()),
                en: en.to_string(),
            },
            category,
            place: Some(place.to_string()),
            from: sagat_verifier::format_date(today - 360),
            to: sagat_verifier::format_date(today),
        });
        entries.push(seal(app, &mut texts, body, &keys[org_i])?);
        activities.push((org_i, id));
    }
    let mut volunteers = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let id = new_id();
        app.directory.put(
            &id,
            &sagat_ledger::VolunteerRecord {
                name: name.to_string(),
                contact: None,
            },
        )?;
        let org_i = i % ORGS.len();
        let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
            volunteer: id.clone(),
            org: Some(ORGS[org_i].0.to_string()),
        });
        entries.push(seal(app, &mut texts, body, &keys[org_i])?);
        volunteers.push(id);
    }
    // Ten attestations per volunteer on distinct days, 1 to 5 hours each.
    for vol in &volunteers {
        let mut days: Vec<i32> = Vec::new();
        while days.len() < 10 {
            let d = today - rng.gen_range(1..350);
            if !days.contains(&d) {
                days.push(d);
            }
        }
        for d in days {
            let (org_i, activity) = &activities[rng.gen_range(0..activities.len())];
            let attestation = new_id();
            let body = EventBody::HoursAttested(HoursAttested {
                attestation,
                org: ORGS[*org_i].0.to_string(),
                volunteer: vol.clone(),
                activity: Some(activity.clone()),
                date: sagat_verifier::format_date(d),
                minutes: 30 * rng.gen_range(2..=10),
                role: Some(ROLES[rng.gen_range(0..ROLES.len())].into()),
                note: None,
            });
            entries.push(seal(app, &mut texts, body, &keys[*org_i])?);
        }
    }
    let appended = entries.len();
    app.texts
        .store(texts)
        .map_err(|e| anyhow!("storing the demo's roles failed: {e}"))?;
    app.ledger
        .append_batch(entries)
        .map_err(|e| anyhow!("seeding the demo failed: {e}"))?;
    for (org, ..) in ORGS {
        let tok = state
            .tokens
            .mint(Role::Org(org.to_string()), Kind::Token, None, t)?;
        org_tokens.push((org.to_string(), tok));
    }
    let code = state
        .tokens
        .issue_access_code(&volunteers[0], Some(ORGS[0].0), t)?;
    Ok(DemoInfo {
        org_tokens,
        volunteer: Some((NAMES[0].to_string(), volunteers[0].clone(), code)),
        appended,
    })
}

/// Signs a demo event; its typed texts are committed into `texts` (stored before the batch).
fn seal(
    app: &crate::datadir::App,
    texts: &mut sagat_ledger::PendingTexts,
    body: EventBody,
    key: &ed25519_dalek::SigningKey,
) -> Result<Vec<u8>> {
    let mut event = ops::event(body);
    texts
        .seal(&app.ledger, &mut event)
        .map_err(|r| anyhow!("demo {}: {}", r.field, r.message))?;
    Ok(sagat_verifier::sign_event(&event, key))
}
